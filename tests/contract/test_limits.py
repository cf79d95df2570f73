"""Every limit has one owner, and whoever repeats it agrees with the owner.

- A service's settings default to its domain `Limits` (the settings only make them
  configurable), so `Settings().limits() == Limits()`.
- The gateway repeats the bounds of the services it fronts (it may not import
  them): the OpenAPI document it publishes must show the owners' defaults.
- Services that call each other stay inside each other's bounds.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentmesh_agents.domain import validation as agent_validation
from agentmesh_agents.domain.limits import Limits as AgentLimits
from agentmesh_agents.domain.tools import TOOL_NAME
from agentmesh_agents.settings import AgentsSettings
from agentmesh_core.errors import InvalidInput
from agentmesh_core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from agentmesh_gateway.app import create_app
from agentmesh_gateway.schemas.agents import AgentIn
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_inference.domain.limits import Limits as InferenceLimits
from agentmesh_inference.settings import InferenceSettings
from agentmesh_memory.domain import limits as memory_limits
from agentmesh_scheduler.domain import validation as schedule_validation

AGENTS = AgentLimits()
MEMORY = memory_limits.Limits()


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return create_app(GatewaySettings()).openapi()


def _field(openapi: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    """A property of a request schema; for optional fields, its non-null branch."""
    prop = openapi["components"]["schemas"][model]["properties"][name]
    branches = [b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"]
    assert len(branches) == 1, f"{model}.{name}: {prop}"
    return {**prop, **branches[0]}


def test_settings_default_to_the_domain_limits() -> None:
    assert AgentsSettings(database_url="postgresql://unused").limits() == AGENTS
    assert InferenceSettings().limits() == InferenceLimits()


@pytest.mark.parametrize("model", ["AgentIn", "AgentPatch"])
def test_gateway_agent_bounds_are_the_agents_service_defaults(openapi: dict[str, Any], model: str) -> None:
    def field(name: str) -> dict[str, Any]:
        return _field(openapi, model, name)

    assert field("name")["maxLength"] == AGENTS.name_max_length
    assert field("purpose")["maxLength"] == AGENTS.purpose_max_length
    assert field("system_prompt")["maxLength"] == AGENTS.system_prompt_max_length
    assert field("agent_type")["maxLength"] == AGENTS.agent_type_max_length
    assert field("topics")["maxItems"] == AGENTS.topics_max
    assert field("topics")["items"]["maxLength"] == AGENTS.topic_max_length


def test_gateway_tool_bounds_are_the_agents_service_defaults(openapi: dict[str, Any]) -> None:
    name = _field(openapi, "ToolIn", "name")
    assert name["pattern"] == TOOL_NAME.pattern and name["maxLength"] == 64
    assert _field(openapi, "ToolIn", "description")["maxLength"] == AGENTS.tool_description_max_length
    assert _field(openapi, "GrantIn", "name")["pattern"] == TOOL_NAME.pattern
    assert _field(openapi, "DecisionIn", "comment")["maxLength"] == AGENTS.approval_comment_max_length
    put = openapi["paths"]["/projects/{project_id}/agents/{agent_id}/tools"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body["maxItems"] == AGENTS.grants_max


def test_gateway_message_bounds_are_the_agents_service_defaults(openapi: dict[str, Any]) -> None:
    assert _field(openapi, "MessageIn", "idempotency_key")["maxLength"] == AGENTS.idempotency_key_max_length


TOPICS = ["news", "a", "A.b-c_d", "9lives", "_hidden", "-x", ".x", "a b", "a/b", "é", "x" * AGENTS.topic_max_length]


@pytest.mark.parametrize("topic", TOPICS)
def test_gateway_and_agents_accept_the_same_topics(topic: str) -> None:
    try:
        AgentIn(name="a", topics=[topic])
        gateway_accepts = True
    except ValidationError:
        gateway_accepts = False
    try:
        agent_validation.topics([topic], AGENTS)
        agents_accept = True
    except InvalidInput:
        agents_accept = False
    assert gateway_accepts == agents_accept


def test_gateway_memory_bounds_are_the_memory_service_defaults(openapi: dict[str, Any]) -> None:
    assert _field(openapi, "DocumentIn", "content")["maxLength"] == MEMORY.max_document_chars
    assert _field(openapi, "MemoryIn", "content")["maxLength"] == MEMORY.max_document_chars
    assert _field(openapi, "MemoryIn", "documents")["maxItems"] == MEMORY.max_documents
    assert _field(openapi, "SearchIn", "query")["maxLength"] == MEMORY.max_query_chars
    k = _field(openapi, "SearchIn", "k")
    assert (k["minimum"], k["maximum"], k["default"]) == (1, MEMORY.max_k, memory_limits.DEFAULT_K)


def test_gateway_schedule_bounds_are_the_scheduler_defaults(openapi: dict[str, Any]) -> None:
    assert _field(openapi, "ScheduleIn", "cron")["maxLength"] == schedule_validation.CRON_MAX_LENGTH
    interval = _field(openapi, "ScheduleIn", "interval_seconds")
    assert interval["minimum"] == schedule_validation.MIN_INTERVAL_SECONDS
    assert interval["maximum"] == schedule_validation.MAX_INTERVAL_SECONDS
    assert _field(openapi, "ScheduleIn", "timezone")["maxLength"] == schedule_validation.TIME_ZONE_MAX_LENGTH


def test_every_list_endpoint_pages_like_the_services(openapi: dict[str, Any]) -> None:
    limits = [
        (path, param["schema"])
        for path, operations in openapi["paths"].items()
        for operation in operations.values()
        for param in operation.get("parameters", [])
        if param["name"] == "limit"
    ]
    assert len(limits) >= 4  # users, agents, messages, memories at least
    for path, schema in limits:
        assert (schema["maximum"], schema["default"]) == (MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE), path


def test_agents_ask_other_services_only_for_what_they_allow() -> None:
    inference = InferenceSettings().limits()
    assert AGENTS.max_tokens_cap <= inference.max_tokens_cap
    assert AGENTS.default_max_tokens <= inference.max_tokens_cap
    assert AGENTS.memory_hits <= MEMORY.max_k
    assert AGENTS.memory_query_max_chars <= MEMORY.max_query_chars
