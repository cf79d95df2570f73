"""Errors on the inference routes.

The OpenAI-compatible routes (/v1/*) answer errors in OpenAI's shape,
`{"error": {"message", "type", "param", "code"}}`, so that OpenAI clients raise
their usual exceptions (BadRequestError, AuthenticationError, RateLimitError, ...);
a failure after a stream has started is one `data: {"error": ...}` event. The rest
of the gateway keeps its own shape; the debug routes (/llm/*) keep it too, and
both add `Retry-After` to a 503 (the model loading, the inference service down),
as the error handlers already do to a 429.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentmesh_core import errors
from agentmesh_core.quotas import retry_after_header
from agentmesh_gateway.errors import HTTP_STATUS, error_response, validation_problem
from agentmesh_observability.logging import error_summary

log = logging.getLogger(__name__)

# What a 503 tells the client to wait: about the time a model needs to finish loading.
UNAVAILABLE_RETRY_SECONDS = 5

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    429: "rate_limit_error",
}
_CODES = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded", 503: "service_unavailable"}


class ModelNotFound(errors.NotFound):
    """The request names a model this platform does not serve."""


def openai_error(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One error in OpenAI's shape."""
    body = {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": code or _CODES.get(status),
        }
    }
    return Response(json.dumps(body), status_code=status, headers=headers, media_type="application/json")


def _param(request: Request, error: RequestValidationError) -> tuple[str | None, str]:
    items = error.errors()
    if not items:
        return None, "invalid request"
    return validation_problem(items[0], request.headers.get("content-type", ""))


def _retry_headers(error: errors.AgentmeshError) -> dict[str, str] | None:
    if isinstance(error, errors.ResourceExhausted):
        return {"Retry-After": retry_after_header(error.retry_after)}
    if isinstance(error, errors.Unavailable | errors.DeadlineExceeded):
        return {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)}
    return None


def openai_error_for(request: Request, error: Exception) -> Response:
    """Any exception as an OpenAI error response (unexpected ones logged, answered 500)."""
    if isinstance(error, RequestValidationError):
        param, message = _param(request, error)
        return openai_error(400, message, param=param, code="invalid_value")
    if isinstance(error, errors.AgentmeshError):
        status = HTTP_STATUS.get(error.code, 500)
        if status == 500:
            return openai_error(500, "internal error")
        if status >= 500:
            log.warning("%s %s answered %d: %s", request.method, request.url.path, status, error.code)
        code = "model_not_found" if isinstance(error, ModelNotFound) else None
        if status == 400 and error.message.startswith("prompt too long"):
            code = "context_length_exceeded"
        headers = _retry_headers(error)
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return openai_error(status, error.message, code=code, headers=headers)
    if isinstance(error, StarletteHTTPException):
        message = error.detail if isinstance(error.detail, str) else "request failed"
        return openai_error(error.status_code, message, headers=getattr(error, "headers", None))
    log.error("unhandled error in %s %s: %s", request.method, request.url.path, error_summary(error))
    return openai_error(500, "internal error")


def error_event(error: Exception) -> bytes:
    """A failure after the stream started, as one SSE event in OpenAI's shape."""
    if isinstance(error, errors.AgentmeshError) and HTTP_STATUS.get(error.code, 500) < 500:
        message, kind = error.message, _TYPES.get(HTTP_STATUS[error.code], "invalid_request_error")
    elif isinstance(error, errors.Unavailable | errors.DeadlineExceeded):
        message, kind = "inference became unavailable during the stream; retry", "server_error"
    else:
        message, kind = "internal error", "server_error"
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return f"data: {json.dumps(body)}\n\n".encode()


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class OpenAIRoute(APIRoute):
    """A route whose every error (validation, auth, services) leaves in OpenAI's shape."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:  # noqa: BLE001 - every error is answered in OpenAI's shape
                return openai_error_for(request, error)

        return route


class RetryAfterRoute(APIRoute):
    """A route whose 503s say when to retry; every other error goes to the gateway's handlers."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except (errors.Unavailable, errors.DeadlineExceeded) as error:
                log.warning("%s %s answered 503: %s", request.method, request.url.path, error.code)
                headers = {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)}
                return error_response(503, error.code, error.message, headers)

        return route
