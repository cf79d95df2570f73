"""Domain -> proto encoding shared by the servicer (responses) and the NATS adapters (stored events).

Conversation events are stored on JetStream as `ConversationEvent` protos and
relayed to watchers as they are, so only the encoding direction lives here;
decoding what clients send is the servicer's business (rpc/mapping.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from agentmesh.agents.v1 import message_pb2
from agentmesh.common.v1 import participant_pb2
from agentmesh_agents.domain.models import (
    ConversationEvent,
    EventType,
    JsonValue,
    Message,
    MessageStatus,
    Participant,
    ParticipantType,
)

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


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """A timezone-aware datetime as a protobuf Timestamp."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def value_proto(value: JsonValue) -> struct_pb2.Value:
    """Plain JSON as a protobuf Value."""
    proto = struct_pb2.Value()
    json_format.ParseDict(value, proto)
    return proto


def participant_proto(participant: Participant) -> participant_pb2.Participant:
    """A sender or receiver as a proto."""
    return participant_pb2.Participant(type=PARTICIPANT_TYPE[participant.type], id=participant.id)


def message_proto(message: Message) -> message_pb2.Message:
    """A message-log entry as a proto."""
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


def event_proto(event: ConversationEvent) -> message_pb2.ConversationEvent:
    """A conversation event as a proto (the project is in the subject, not the payload)."""
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


def encode_event(event: ConversationEvent) -> bytes:
    """The bytes the event log stores for an event."""
    return event_proto(event).SerializeToString()
