"""Every JSON value the platform accepts fits every protobuf message that carries it.

agentmesh_core.json_values bounds nesting (JSON_LIMITS.max_depth) strictly
below what protobuf's decoder takes (100 message levels, a JSON object level
costing three): a value the gateway accepts must decode in the request, in the
stored event, and in every response that shows it again. Found in the wild: a
33-level message content was stored, then broke the project's message list.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from agentmesh.agents.v1 import agent_service_pb2 as agents
from agentmesh.memory.v1 import memory_service_pb2 as memory
from agentmesh.scheduler.v1 import scheduler_service_pb2 as scheduler
from agentmesh_core.json_values import JSON_LIMITS, check_json


def deepest(depth: int) -> dict[str, Any]:
    """The costliest shape per level: objects in objects."""
    value: dict[str, Any] = {"leaf": 1.5}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


# Each carrier of a free-form value, as the JSON form of the message around it.
CARRIERS: list[tuple[type[Message], Any]] = [
    (agents.SendMessageRequest, lambda v: {"content": v}),
    (agents.ListMessagesResponse, lambda v: {"messages": [{"content": v}]}),
    (agents.StreamConversationEventsResponse, lambda v: {"event": {"reply": {"content": v}}}),
    (agents.CreateAgentRequest, lambda v: {"agent": {"model_config": v}}),
    (agents.ListAgentsResponse, lambda v: {"agents": [{"model_config": v}]}),
    (memory.AddMemoriesRequest, lambda v: {"documents": [{"content": "c", "metadata": v}]}),
    (memory.SearchMemoriesResponse, lambda v: {"hits": [{"entry": {"metadata": v}}]}),
    (memory.SearchMemoriesRequest, lambda v: {"filter": v}),
    (scheduler.CreateScheduleRequest, lambda v: {"schedule": {"payload": v}}),
    (scheduler.ListSchedulesResponse, lambda v: {"schedules": [{"payload": v}]}),
]


def round_trip(message_type: type[Message], wrap: Any, value: Any) -> None:
    message = json_format.ParseDict(wrap(value), message_type(), max_recursion_depth=1000)
    message_type.FromString(message.SerializeToString())


@pytest.mark.parametrize(("message_type", "wrap"), CARRIERS, ids=[c[0].__name__ for c in CARRIERS])
def test_the_deepest_accepted_value_fits_every_carrier(message_type: type[Message], wrap: Any) -> None:
    value = check_json(deepest(JSON_LIMITS.max_depth), "value")
    round_trip(message_type, wrap, value)
    # Headroom: a third more nesting still decodes, so no carrier is near the edge.
    round_trip(message_type, wrap, deepest(JSON_LIMITS.max_depth * 4 // 3))


def test_protobuf_still_has_the_limit_the_bound_is_below() -> None:
    """If this fails, protobuf's decoder changed: recompute JSON_LIMITS.max_depth."""
    with pytest.raises(DecodeError):
        round_trip(agents.StreamConversationEventsResponse, CARRIERS[2][1], deepest(33))
