"""Proto <-> domain translation for agents, messages and conversation events.

Also used by the NATS adapters: mailbox payloads are `Message` protos and
conversation events are `ConversationEvent` protos.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from agentmesh.agents.v1 import agent_pb2, message_pb2
from agentmesh.common.v1 import participant_pb2
from agentmesh_agents.domain.models import (
    Agent,
    AgentStatus,
    ConversationEvent,
    EventType,
    JsonValue,
    Message,
    MessageStatus,
    Participant,
    ParticipantType,
)
from agentmesh_core.errors import InvalidInput

AGENT_STATUS = {AgentStatus.ACTIVE: agent_pb2.AGENT_STATUS_ACTIVE, AgentStatus.PAUSED: agent_pb2.AGENT_STATUS_PAUSED}
MESSAGE_STATUS = {
    MessageStatus.QUEUED: message_pb2.MESSAGE_STATUS_QUEUED,
    MessageStatus.DELIVERED: message_pb2.MESSAGE_STATUS_DELIVERED,
    MessageStatus.PROCESSING: message_pb2.MESSAGE_STATUS_PROCESSING,
    MessageStatus.COMPLETE: message_pb2.MESSAGE_STATUS_COMPLETE,
    MessageStatus.ERROR: message_pb2.MESSAGE_STATUS_ERROR,
}
PARTICIPANT_TYPE = {
    ParticipantType.USER: participant_pb2.PARTICIPANT_TYPE_USER,
    ParticipantType.AGENT: participant_pb2.PARTICIPANT_TYPE_AGENT,
    ParticipantType.SYSTEM: participant_pb2.PARTICIPANT_TYPE_SYSTEM,
}
EVENT_TYPE = {
    EventType.STATUS: message_pb2.CONVERSATION_EVENT_TYPE_STATUS,
    EventType.TOKEN: message_pb2.CONVERSATION_EVENT_TYPE_TOKEN,
    EventType.REPLY: message_pb2.CONVERSATION_EVENT_TYPE_REPLY,
    EventType.ERROR: message_pb2.CONVERSATION_EVENT_TYPE_ERROR,
}


def _reverse(table: dict[Any, int]) -> dict[int, Any]:
    return {number: value for value, number in table.items()}


_AGENT_STATUS_OF = _reverse(AGENT_STATUS)
_MESSAGE_STATUS_OF = _reverse(MESSAGE_STATUS)
_PARTICIPANT_TYPE_OF = _reverse(PARTICIPANT_TYPE)
_EVENT_TYPE_OF = _reverse(EVENT_TYPE)


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def json_value(value: struct_pb2.Value) -> JsonValue:
    """A protobuf Value as plain JSON (None when unset)."""
    return json_format.MessageToDict(value)


def value_proto(value: JsonValue) -> struct_pb2.Value:
    proto = struct_pb2.Value()
    json_format.ParseDict(value, proto)
    return proto


def struct_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


def struct_proto(values: dict[str, Any]) -> struct_pb2.Struct:
    proto = struct_pb2.Struct()
    proto.update(values)
    return proto


def agent_status(number: int, *, default: AgentStatus | None = None) -> AgentStatus:
    """The status a client asked for; UNSPECIFIED means default (refused when there is none)."""
    if number == agent_pb2.AGENT_STATUS_UNSPECIFIED and default is not None:
        return default
    status = _AGENT_STATUS_OF.get(number)
    if status is None:
        raise InvalidInput("status must be AGENT_STATUS_ACTIVE or AGENT_STATUS_PAUSED")
    return status


def message_status(number: int) -> MessageStatus | None:
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
        create_time=timestamp(agent.created_at),
        update_time=timestamp(agent.updated_at),
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


def participant_proto(participant: Participant) -> participant_pb2.Participant:
    return participant_pb2.Participant(type=PARTICIPANT_TYPE[participant.type], id=participant.id)


def participant(proto: participant_pb2.Participant) -> Participant:
    kind = _PARTICIPANT_TYPE_OF.get(proto.type)
    if kind is None:
        raise InvalidInput("participant type is required")
    return Participant(kind, proto.id)


def message_proto(message: Message) -> message_pb2.Message:
    return message_pb2.Message(
        id=message.id,
        project_id=message.project_id,
        conversation_id=message.conversation_id,
        sender=participant_proto(message.sender),
        receiver=participant_proto(message.receiver),
        content=value_proto(message.content),
        performative=message.performative,
        status=MESSAGE_STATUS[message.status],
        error=message.error,
        parent_id=message.parent_id or "",
        correlation_id=message.correlation_id or "",
        idempotency_key=message.idempotency_key or "",
        create_time=timestamp(message.created_at),
        update_time=timestamp(message.updated_at),
    )


def message(proto: message_pb2.Message) -> Message:
    return Message(
        id=proto.id,
        project_id=proto.project_id,
        conversation_id=proto.conversation_id,
        sender=participant(proto.sender),
        receiver=participant(proto.receiver),
        content=json_value(proto.content),
        performative=proto.performative,
        status=_MESSAGE_STATUS_OF.get(proto.status, MessageStatus.QUEUED),
        error=proto.error,
        parent_id=proto.parent_id or None,
        correlation_id=proto.correlation_id or None,
        idempotency_key=proto.idempotency_key or None,
        created_at=from_timestamp(proto.create_time),
        updated_at=from_timestamp(proto.update_time),
    )


def event_proto(event: ConversationEvent) -> message_pb2.ConversationEvent:
    proto = message_pb2.ConversationEvent(
        sequence=event.sequence,
        type=EVENT_TYPE[event.type],
        conversation_id=event.conversation_id,
        message_id=event.message_id,
        agent_id=event.agent_id,
        text=event.text,
        error=event.error,
        create_time=timestamp(event.created_at),
    )
    if event.reply is not None:
        proto.reply.CopyFrom(message_proto(event.reply))
    if event.status is not None:
        proto.status = MESSAGE_STATUS[event.status]
    return proto


def event(proto: message_pb2.ConversationEvent, project_id: str) -> ConversationEvent:
    return ConversationEvent(
        type=_EVENT_TYPE_OF.get(proto.type, EventType.STATUS),
        project_id=project_id,
        conversation_id=proto.conversation_id,
        message_id=proto.message_id,
        agent_id=proto.agent_id,
        text=proto.text,
        reply=message(proto.reply) if proto.HasField("reply") else None,
        status=_MESSAGE_STATUS_OF.get(proto.status),
        error=proto.error,
        created_at=from_timestamp(proto.create_time),
        sequence=proto.sequence,
    )
