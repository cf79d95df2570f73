"""Proto <-> domain translation for the servicer: what clients send in, what they get back.

Domain -> proto encoding that the NATS adapters share lives in codec.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.message import DecodeError

from agentmesh.agents.v1 import agent_pb2, message_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_agents.codec import MESSAGE_STATUS
from agentmesh_agents.domain.models import Agent, AgentStatus, JsonValue, MessageStatus
from agentmesh_agents.domain.ports import StoredEvent
from agentmesh_core.errors import InvalidInput
from agentmesh_grpc.struct_values import struct_to_json, value_to_json
from agentmesh_grpc.well_known import timestamp_proto

log = logging.getLogger(__name__)

AGENT_STATUS = {AgentStatus.ACTIVE: agent_pb2.AGENT_STATUS_ACTIVE, AgentStatus.PAUSED: agent_pb2.AGENT_STATUS_PAUSED}
_AGENT_STATUS_OF = {number: status for status, number in AGENT_STATUS.items()}
_MESSAGE_STATUS_OF = {number: status for status, number in MESSAGE_STATUS.items()}


def json_value(value: struct_pb2.Value) -> JsonValue:
    """A protobuf Value as plain JSON (None when unset); NaN reaches the domain, which refuses it."""
    return value_to_json(value)


def struct_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return struct_to_json(struct)


def struct_proto(values: dict[str, Any]) -> struct_pb2.Struct:
    proto = struct_pb2.Struct()
    proto.update(values)
    return proto


def agent_status(number: agent_pb2.AgentStatus.ValueType, *, default: AgentStatus | None = None) -> AgentStatus:
    """The status a client asked for; UNSPECIFIED means default (refused when there is none)."""
    if number == agent_pb2.AGENT_STATUS_UNSPECIFIED and default is not None:
        return default
    status = _AGENT_STATUS_OF.get(number)
    if status is None:
        raise InvalidInput("status must be AGENT_STATUS_ACTIVE or AGENT_STATUS_PAUSED")
    return status


def message_status(number: message_pb2.MessageStatus.ValueType) -> MessageStatus | None:
    """A status filter; UNSPECIFIED means any."""
    if number == message_pb2.MESSAGE_STATUS_UNSPECIFIED:
        return None
    status = _MESSAGE_STATUS_OF.get(number)
    if status is None:
        raise InvalidInput("unknown message status")
    return status


def agent_proto(agent: Agent) -> agent_pb2.Agent:
    return agent_pb2.Agent(
        id=agent.id,
        project_id=agent.project_id,
        name=agent.name,
        purpose=agent.purpose,
        system_prompt=agent.system_prompt,
        model_config=struct_proto(agent.model_config),
        agent_type=agent.agent_type,
        status=AGENT_STATUS[agent.status],
        topics=list(agent.topics),
        create_time=timestamp_proto(agent.created_at),
        update_time=timestamp_proto(agent.updated_at),
    )


def agent_draft(proto: agent_pb2.Agent) -> Agent:
    """The agent a CreateAgent request describes (id, project and times are set by the registry)."""
    return Agent(
        id="",
        project_id="",
        name=proto.name,
        purpose=proto.purpose,
        system_prompt=proto.system_prompt,
        model_config=struct_dict(proto.model_config),
        agent_type=proto.agent_type,
        status=agent_status(proto.status, default=AgentStatus.ACTIVE),
        topics=tuple(proto.topics),
    )


def agent_changes(proto: agent_pb2.Agent, paths: Iterable[str]) -> dict[str, Any]:
    """Field name -> new value for the fields an update mask names."""
    changes: dict[str, Any] = {}
    readers = {
        "name": lambda: proto.name,
        "purpose": lambda: proto.purpose,
        "system_prompt": lambda: proto.system_prompt,
        "model_config": lambda: struct_dict(proto.model_config),
        "agent_type": lambda: proto.agent_type,
        "status": lambda: agent_status(proto.status),
        "topics": lambda: tuple(proto.topics),
    }
    for path in paths:
        reader = readers.get(path)
        if reader is None:
            raise InvalidInput(f"field {path!r} cannot be updated")
        changes[path] = reader()
    return changes


def event_response(stored: StoredEvent) -> pb.StreamConversationEventsResponse | None:
    """A stored event as a stream response, relayed as stored plus its sequence; None if undecodable."""
    response = pb.StreamConversationEventsResponse()
    try:
        response.event.MergeFromString(stored.data)
    except DecodeError:
        log.warning("undecodable conversation event %d skipped", stored.sequence)
        return None
    response.event.sequence = stored.sequence
    return response
