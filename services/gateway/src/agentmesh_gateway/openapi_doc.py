"""The OpenAPI document a generated client can use as it is.

- Operation ids are the route functions' names in camelCase (`listAgents`,
  `sendMessage`), with a few renamed where the function name says less.
- Every operation declares the errors it can answer, each with the real body:
  `{"error": {"code", "message"}}` (ErrorBody), or OpenAI's shape on /v1. The
  framework's own 422 schema (HTTPValidationError) is replaced: the gateway answers
  422 with ErrorBody too.
- The SSE route is `text/event-stream`, its `data:` described by ConversationEvent;
  /metrics is Prometheus text; the readiness routes' 503 carries their own body.
- The main request bodies carry examples.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from agentmesh_gateway.schemas.messages import ConversationEventOut

# Function names that make poor operation ids on their own.
OPERATION_IDS = {
    "me": "getMe",
    "refresh": "refreshSession",
    "healthz": "getLiveness",
    "readyz": "getReadiness",
    "readyz_dependencies": "getDependencyReadiness",
    "metrics": "getMetrics",
    "conversation_events": "streamConversationEvents",
    "add_memory": "addMemories",
    "list_memory": "listMemories",
    "search_memory": "searchMemories",
    "list_keys": "listApiKeys",
    "create_key": "createApiKey",
    "revoke_key": "revokeApiKey",
    "project_usage": "getProjectUsage",
    "project_quota": "getProjectQuota",
    "generate": "llmGenerate",
    "embed": "llmEmbed",
    "health": "getLlmHealth",
    "chat_completions": "createChatCompletion",
}

ERROR_DESCRIPTIONS = {
    400: "Invalid input (the services' own checks)",
    401: "Missing, invalid or revoked credentials",
    403: "Authenticated, but the role is not enough",
    404: "No such resource, or not visible to the caller (non-members get 404)",
    409: "Conflicts with the current state (already exists, failed precondition)",
    413: "The body is over the size limit",
    422: "The request does not match its schema",
    429: "Throttled or over a quota; Retry-After says when to retry",
    503: "A service the route needs is unavailable",
}

ERROR_BODY = {
    "type": "object",
    "title": "ErrorBody",
    "description": "Every error the gateway answers (outside /v1).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "a stable code, e.g. not_found, invalid_argument"},
                "message": {"type": "string", "description": "for people; never parse it"},
            },
        }
    },
    "example": {"error": {"code": "not_found", "message": "project not found"}},
}

OPENAI_ERROR_BODY = {
    "type": "object",
    "title": "OpenAIErrorBody",
    "description": "Errors of the OpenAI-compatible routes, in OpenAI's shape.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    },
}

READINESS_BODY = {
    "type": "object",
    "title": "Readiness",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "not_ready"]},
        "checks": {"type": "object", "additionalProperties": {"type": "string", "enum": ["ok", "unavailable"]}},
    },
}

# Request body examples by operation id.
EXAMPLES: dict[str, Any] = {
    "login": {"username": "admin", "password": "agentmesh-admin"},
    "createProject": {"name": "support", "description": "customer support agents", "settings": {}},
    "createAgent": {
        "name": "triage",
        "purpose": "sort incoming tickets",
        "system_prompt": "You sort tickets.",
        "model_config": {"temperature": 0.2, "max_tokens": 256},
        "topics": ["tickets"],
    },
    "sendMessage": {"content": "Summarise today's open tickets", "idempotency_key": "ui-7f3a"},
    "addMemories": {"content": "Refunds are processed within 5 days.", "metadata": {"source": "faq"}},
    "searchMemories": {"query": "how long do refunds take", "k": 3},
    "createSchedule": {
        "agent_id": "0b9d6a8e-4f0e-4c1f-9a43-2f4d1a7f8c10",
        "cron": "0 9 * * 1-5",
        "timezone": "Europe/Paris",
        "payload": {"content": "Daily digest"},
    },
    "createUser": {"username": "alice", "password": "a-long-password", "role": "user"},
    "addMember": {"user_id": "4f1c0e2a-9b7d-4e55-8a0f-3c2b1d9e6a77", "role": "user"},
}

_PUBLIC = {"/auth/login", "/auth/refresh", "/healthz", "/readyz", "/readyz/dependencies", "/metrics"}


def operation_id(route: APIRoute) -> str:
    """`generate_unique_id_function`: the function's name in camelCase (or its entry in OPERATION_IDS)."""
    if route.name in OPERATION_IDS:
        return OPERATION_IDS[route.name]
    head, *rest = route.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _errors_for(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    if path in ("/healthz", "/metrics") or path.startswith("/readyz"):
        return []
    statuses = {401, 422, 429, 503}  # login and refresh answer 401 too: bad credentials, a bad refresh token
    if path not in _PUBLIC:
        statuses.add(403)
    if "{" in path or path not in _PUBLIC:
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {400, 413}
    if method in ("post", "put", "patch", "delete"):
        statuses |= {400, 409}
    if operation.get("parameters"):
        statuses.add(400)
    return sorted(statuses)


def _declare_errors(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        openai = path.startswith("/v1/")
        body = {"$ref": "#/components/schemas/" + ("OpenAIErrorBody" if openai else "ErrorBody")}
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in _errors_for(path, method, operation):
                responses[str(status)] = {
                    "description": ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": body}},
                }


def _special_routes(document: dict[str, Any]) -> None:
    paths = document["paths"]
    events = paths.get("/projects/{project_id}/conversations/{conversation_id}/events", {}).get("get")
    if events:
        events["responses"]["200"] = {
            "description": "Server-Sent Events: `id:` the event's sequence, `event:` its type, `data:` one "
            "ConversationEvent as JSON. Comment lines keep the connection open; an `error` event without "
            "an id reports a stream problem (`code` access_revoked: the caller lost access).",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string", "description": "a stream of SSE frames"},
                    "x-event-data": {"$ref": "#/components/schemas/ConversationEvent"},
                    "example": 'retry: 2000\n\nid: 7\nevent: token\ndata: {"sequence": 7, "type": "token", '
                    '"conversation_id": "…", "text": "Hel"}\n\n',
                }
            },
        }
    metrics = paths.get("/metrics", {}).get("get")
    if metrics:
        metrics["responses"]["200"] = {
            "description": "Prometheus metrics (text exposition format)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    for path in ("/readyz", "/readyz/dependencies"):
        operation = paths.get(path, {}).get("get")
        if operation:
            ready = {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
            operation["responses"] = {
                "200": {"description": "Ready", "content": ready},
                "503": {"description": "Not ready", "content": ready},
            }


def _examples(document: dict[str, Any]) -> None:
    for item in document["paths"].values():
        for operation in item.values():
            example = EXAMPLES.get(operation.get("operationId", ""))
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if example is not None and content is not None:
                content["example"] = example


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document, built once and cached like FastAPI's own."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description,
                           routes=app.routes, tags=app.openapi_tags)  # fmt: skip
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ERROR_BODY
    components["OpenAIErrorBody"] = OPENAI_ERROR_BODY
    components["Readiness"] = READINESS_BODY
    event = ConversationEventOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, schema in event.pop("$defs", {}).items():
        components.setdefault(name, schema)
    components["ConversationEvent"] = event
    _declare_errors(document)
    _special_routes(document)
    _examples(document)
    # Nothing refers to the framework's validation error shape any more: the gateway never answers it.
    for name in ("HTTPValidationError", "ValidationError"):
        if name in components and f'"#/components/schemas/{name}"' not in json.dumps(document):
            components.pop(name)
    app.openapi_schema = document
    return document


OPENAPI_TAGS = [
    {"name": "auth", "description": "Login, sessions, the caller, stream tickets"},
    {"name": "users", "description": "Accounts (superadmins)"},
    {"name": "projects", "description": "Projects, members, the dashboard"},
    {"name": "agents", "description": "Agents of a project"},
    {"name": "messages", "description": "Talking to agents; the message log"},
    {"name": "conversations", "description": "Live events (SSE, WebSocket)"},
    {"name": "memory", "description": "Project memory and semantic search"},
    {"name": "schedules", "description": "Scheduled messages (Temporal)"},
    {"name": "jobs", "description": "Multi-step jobs (Temporal)"},
    {"name": "tools", "description": "Tool catalog, grants, tool calls, approvals"},
    {"name": "api keys", "description": "Project API keys for OpenAI clients"},
    {"name": "usage", "description": "Token usage and quotas"},
    {"name": "openai", "description": "OpenAI-compatible API (its own error shape)"},
    {"name": "llm", "description": "Direct model access (superadmins, debugging)"},
    {"name": "health", "description": "Liveness, readiness, metrics"},
]
