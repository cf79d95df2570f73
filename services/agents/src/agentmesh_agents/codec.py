"""Domain -> proto encoding shared by the servicer (responses) and the NATS adapters (stored events).

Conversation events are stored on JetStream as `ConversationEvent` protos and
relayed to watchers as they are, so only the encoding direction lives here;
decoding what clients send is the servicer's business (rpc/mapping.py).
"""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2

from agentmesh.agents.v1 import message_pb2, tool_pb2
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
from agentmesh_agents.domain.tool_models import (
    Approval,
    ApprovalStatus,
    ToolCallOutcome,
    ToolCallRecord,
    ToolDefinition,
    ToolKind,
)
from agentmesh_grpc.well_known import timestamp_proto

MESSAGE_STATUS = {
    MessageStatus.QUEUED: message_pb2.MESSAGE_STATUS_QUEUED,
    MessageStatus.PROCESSING: message_pb2.MESSAGE_STATUS_PROCESSING,
    MessageStatus.COMPLETE: message_pb2.MESSAGE_STATUS_COMPLETE,
    MessageStatus.ERROR: message_pb2.MESSAGE_STATUS_ERROR,
    MessageStatus.AWAITING_APPROVAL: message_pb2.MESSAGE_STATUS_AWAITING_APPROVAL,
    MessageStatus.CANCELLED: message_pb2.MESSAGE_STATUS_CANCELLED,
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
    EventType.TOOL_CALL: message_pb2.CONVERSATION_EVENT_TYPE_TOOL_CALL,
    EventType.TOOL_RESULT: message_pb2.CONVERSATION_EVENT_TYPE_TOOL_RESULT,
    EventType.APPROVAL_REQUIRED: message_pb2.CONVERSATION_EVENT_TYPE_APPROVAL_REQUIRED,
    EventType.APPROVAL_DECIDED: message_pb2.CONVERSATION_EVENT_TYPE_APPROVAL_DECIDED,
    EventType.RESET: message_pb2.CONVERSATION_EVENT_TYPE_RESET,
    EventType.DELEGATED: message_pb2.CONVERSATION_EVENT_TYPE_DELEGATED,
    EventType.DELEGATION_REPLY: message_pb2.CONVERSATION_EVENT_TYPE_DELEGATION_REPLY,
    EventType.CANCELLED: message_pb2.CONVERSATION_EVENT_TYPE_CANCELLED,
    EventType.RECALL_SKIPPED: message_pb2.CONVERSATION_EVENT_TYPE_RECALL_SKIPPED,
}

TOOL_KIND = {ToolKind.BUILTIN: tool_pb2.TOOL_KIND_BUILTIN, ToolKind.MCP: tool_pb2.TOOL_KIND_MCP}
TOOL_CALL_OUTCOME = {
    ToolCallOutcome.ALLOWED: tool_pb2.TOOL_CALL_OUTCOME_ALLOWED,
    ToolCallOutcome.REFUSED: tool_pb2.TOOL_CALL_OUTCOME_REFUSED,
    ToolCallOutcome.ERROR: tool_pb2.TOOL_CALL_OUTCOME_ERROR,
    ToolCallOutcome.DENIED: tool_pb2.TOOL_CALL_OUTCOME_DENIED,
    ToolCallOutcome.EXPIRED: tool_pb2.TOOL_CALL_OUTCOME_EXPIRED,
    ToolCallOutcome.PENDING: tool_pb2.TOOL_CALL_OUTCOME_PENDING,
}
APPROVAL_STATUS = {
    ApprovalStatus.PENDING: tool_pb2.APPROVAL_STATUS_PENDING,
    ApprovalStatus.APPROVED: tool_pb2.APPROVAL_STATUS_APPROVED,
    ApprovalStatus.DENIED: tool_pb2.APPROVAL_STATUS_DENIED,
    ApprovalStatus.EXPIRED: tool_pb2.APPROVAL_STATUS_EXPIRED,
}


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
        create_time=timestamp_proto(message.created_at),
        update_time=timestamp_proto(message.updated_at),
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
        create_time=timestamp_proto(event.created_at),
    )
    if event.reply is not None:
        proto.reply.CopyFrom(message_proto(event.reply))
    if event.status is not None:
        proto.status = MESSAGE_STATUS[event.status]
    if event.tool_call is not None:
        proto.tool_call.CopyFrom(tool_call_proto(event.tool_call))
    if event.approval is not None:
        proto.approval.CopyFrom(approval_proto(event.approval))
    if event.delegation is not None:
        proto.delegation.CopyFrom(message_proto(event.delegation))
    return proto


def struct_of(values: dict[str, JsonValue]) -> struct_pb2.Struct:
    """A JSON object as a protobuf Struct."""
    proto = struct_pb2.Struct()
    json_format.ParseDict(values, proto)
    return proto


def tool_proto(tool: ToolDefinition) -> tool_pb2.Tool:
    """A catalog entry as a proto."""
    return tool_pb2.Tool(
        name=tool.name,
        description=tool.description,
        parameters=struct_of(tool.parameters),
        kind=TOOL_KIND[tool.kind],
        enabled=tool.enabled,
        restricted=tool.restricted,
        requires_approval=tool.requires_approval,
        create_time=timestamp_proto(tool.created_at),
        update_time=timestamp_proto(tool.updated_at),
    )


def tool_call_proto(call: ToolCallRecord) -> tool_pb2.ToolCall:
    """An audit record as a proto."""
    return tool_pb2.ToolCall(
        id=call.id,
        project_id=call.project_id,
        agent_id=call.agent_id,
        message_id=call.message_id,
        tool=call.tool,
        arguments=struct_of(call.arguments),
        outcome=TOOL_CALL_OUTCOME[call.outcome],
        duration_ms=call.duration_ms,
        error=call.error,
        step=call.step,
        create_time=timestamp_proto(call.created_at),
    )


def approval_proto(approval: Approval) -> tool_pb2.Approval:
    """An approval as a proto."""
    proto = tool_pb2.Approval(
        id=approval.id,
        project_id=approval.project_id,
        agent_id=approval.agent_id,
        message_id=approval.message_id,
        conversation_id=approval.conversation_id,
        tool_call_id=approval.tool_call_id,
        tool=approval.tool,
        arguments=struct_of(approval.arguments),
        status=APPROVAL_STATUS[approval.status],
        decided_by=approval.decided_by,
        comment=approval.comment,
        expire_time=timestamp_proto(approval.expires_at),
        create_time=timestamp_proto(approval.created_at),
    )
    if approval.decided_at is not None:
        proto.decide_time.CopyFrom(timestamp_proto(approval.decided_at))
    return proto


def encode_event(event: ConversationEvent) -> bytes:
    """The bytes the event log stores for an event."""
    return event_proto(event).SerializeToString()
