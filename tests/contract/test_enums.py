"""Every enum has one owner: the proto (or, for roles, agentmesh_core.identity).

The gateway's string enums (schemas/enums.py) and the agents and inference
domains' StrEnums repeat those values; each must equal its owner's, read the way
the code maps them (AGENT_STATUS_ACTIVE <-> "active", UNSPECIFIED never shown).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, get_args

import pytest

from agentmesh.agents.v1 import agent_pb2, message_pb2, tool_pb2
from agentmesh.common.v1 import participant_pb2
from agentmesh.inference.v1 import inference_service_pb2
from agentmesh_agents.domain import models as agent_models
from agentmesh_core.identity import GlobalRole, ProjectRole
from agentmesh_gateway.app import create_app
from agentmesh_gateway.schemas import enums
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_inference.domain import models as inference_models


def proto_values(enum_type: Any, prefix: str) -> set[str]:
    """The values of a proto enum as the API writes them (deprecated ones, which nothing sets, left out)."""
    assert all(name.startswith(prefix) for name in enum_type.keys()), "every value carries the prefix"
    live = [value.name for value in enum_type.DESCRIPTOR.values if not value.GetOptions().deprecated]
    return {name.removeprefix(prefix).lower() for name in live} - {"unspecified"}


AGENT_STATUS = proto_values(agent_pb2.AgentStatus, "AGENT_STATUS_")
MESSAGE_STATUS = proto_values(message_pb2.MessageStatus, "MESSAGE_STATUS_")
EVENT_TYPE = proto_values(message_pb2.ConversationEventType, "CONVERSATION_EVENT_TYPE_")
PARTICIPANT_TYPE = proto_values(participant_pb2.ParticipantType, "PARTICIPANT_TYPE_")
FINISH_REASON = proto_values(inference_service_pb2.FinishReason, "FINISH_REASON_")
TOOL_KIND = proto_values(tool_pb2.ToolKind, "TOOL_KIND_")
TOOL_CALL_OUTCOME = proto_values(tool_pb2.ToolCallOutcome, "TOOL_CALL_OUTCOME_")
APPROVAL_STATUS = proto_values(tool_pb2.ApprovalStatus, "APPROVAL_STATUS_")
APPROVAL_DECISION = proto_values(tool_pb2.ApprovalDecision, "APPROVAL_DECISION_")


@pytest.mark.parametrize(
    ("literal", "owner"),
    [
        (enums.AgentStatus, AGENT_STATUS),
        (enums.MessageStatus, MESSAGE_STATUS),
        (enums.EventType, EVENT_TYPE),
        (enums.ToolKind, TOOL_KIND),
        (enums.ToolCallOutcome, TOOL_CALL_OUTCOME),
        (enums.ApprovalStatus, APPROVAL_STATUS),
        (enums.ApprovalDecision, APPROVAL_DECISION),
        (enums.UserRole, {role.value for role in GlobalRole} - {GlobalRole.SERVICE.value}),
        (enums.MemberRole, {role.value for role in ProjectRole}),
    ],
    ids=[
        "AgentStatus",
        "MessageStatus",
        "EventType",
        "ToolKind",
        "ToolCallOutcome",
        "ApprovalStatus",
        "ApprovalDecision",
        "UserRole",
        "MemberRole",
    ],
)
def test_gateway_enums_are_their_owners_values(literal: Any, owner: set[str]) -> None:
    values = get_args(literal)
    assert len(values) == len(set(values))
    assert set(values) == owner


@pytest.mark.parametrize(
    ("domain", "owner"),
    [
        (agent_models.AgentStatus, AGENT_STATUS),
        (agent_models.MessageStatus, MESSAGE_STATUS),
        (agent_models.EventType, EVENT_TYPE),
        (agent_models.ParticipantType, PARTICIPANT_TYPE),
        (inference_models.FinishReason, FINISH_REASON),
    ],
    ids=lambda value: getattr(value, "__qualname__", ""),
)
def test_domain_enums_are_the_proto_values(domain: type[StrEnum], owner: set[str]) -> None:
    assert {member.value for member in domain} == owner


def test_openapi_shows_inline_string_enums() -> None:
    schemas = create_app(GatewaySettings()).openapi()["components"]["schemas"]
    status = schemas["AgentIn"]["properties"]["status"]
    assert status["type"] == "string" and set(status["enum"]) == AGENT_STATUS
    role = schemas["MemberIn"]["properties"]["role"]
    assert role["type"] == "string" and set(role["enum"]) == {r.value for r in ProjectRole}
