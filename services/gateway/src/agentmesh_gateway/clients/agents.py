"""AgentService wrapper: HTTP schemas <-> protos, deadlines, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeGuard, get_args

import grpc
from google.protobuf import field_mask_pb2

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2, agent_service_pb2_grpc, message_pb2
from agentmesh.common.v1 import participant_pb2
from agentmesh_gateway.clients.convert import (
    READ_TIMEOUT,
    SLOW_TIMEOUT,
    WRITE_TIMEOUT,
    enum_name,
    enum_number,
    from_struct,
    from_timestamp,
    from_value,
    rpc,
    rpc_error,
    to_struct,
    to_value,
)
from agentmesh_gateway.clients.tools import approval_out, tool_call_out
from agentmesh_gateway.schemas.agents import AgentIn, AgentOut, AgentPatch
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.enums import EventType, MessageStatus
from agentmesh_gateway.schemas.messages import (
    ConversationEventOut,
    MessageFilter,
    MessageIn,
    MessageOut,
    Participant,
)
from agentmesh_gateway.schemas.topics import TopicMessageIn

_STATUS = "AGENT_STATUS_"
_MESSAGE_STATUS = "MESSAGE_STATUS_"

_SERVICE = "agents"


def _is_event_type(kind: str) -> TypeGuard[EventType]:
    return kind in get_args(EventType)


def _is_message_status(status: str) -> TypeGuard[MessageStatus]:
    return status in get_args(MessageStatus)


def agent_out(agent: agent_pb2.Agent) -> AgentOut:
    return AgentOut(
        id=agent.id,
        project_id=agent.project_id,
        name=agent.name,
        purpose=agent.purpose,
        system_prompt=agent.system_prompt,
        llm_config=from_struct(agent.model_config),
        agent_type=agent.agent_type,
        status=enum_name(agent_pb2.AgentStatus, agent.status, _STATUS),
        topics=list(agent.topics),
        created_at=from_timestamp(agent.create_time),
        updated_at=from_timestamp(agent.update_time),
    )


def agent_proto(fields: dict[str, Any]) -> agent_pb2.Agent:
    """An Agent holding the given fields (JSON names; absent ones stay unset)."""
    agent = agent_pb2.Agent()
    for key in ("name", "purpose", "system_prompt", "agent_type"):
        if fields.get(key) is not None:
            setattr(agent, key, fields[key])
    if fields.get("model_config") is not None:
        agent.model_config.CopyFrom(to_struct(fields["model_config"]))
    if fields.get("status"):
        agent.status = enum_number(agent_pb2.AgentStatus, fields["status"], _STATUS)
    if fields.get("topics") is not None:
        agent.topics.extend(fields["topics"])
    return agent


def _participant(participant: participant_pb2.Participant) -> Participant:
    kind = enum_name(participant_pb2.ParticipantType, participant.type, "PARTICIPANT_TYPE_")
    return Participant(type=kind, id=participant.id)


def message_out(message: message_pb2.Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        project_id=message.project_id,
        conversation_id=message.conversation_id,
        sender=_participant(message.sender),
        receiver=_participant(message.receiver),
        content=from_value(message.content),
        performative=message.performative,
        status=enum_name(message_pb2.MessageStatus, message.status, _MESSAGE_STATUS),
        error=message.error or None,
        parent_id=message.parent_id or None,
        correlation_id=message.correlation_id or None,
        created_at=from_timestamp(message.create_time),
        updated_at=from_timestamp(message.update_time),
    )


def event_out(event: message_pb2.ConversationEvent) -> ConversationEventOut:
    """Only the field that belongs to the event's type is set."""
    kind = enum_name(message_pb2.ConversationEventType, event.type, "CONVERSATION_EVENT_TYPE_")
    out = ConversationEventOut(
        sequence=event.sequence,
        type=kind if _is_event_type(kind) else "status",
        conversation_id=event.conversation_id,
        message_id=event.message_id,
        agent_id=event.agent_id,
        created_at=from_timestamp(event.create_time),
    )
    if kind == "token":
        out.text = event.text
    elif kind == "reply":
        out.reply = message_out(event.reply)
    elif kind == "status":
        status = enum_name(message_pb2.MessageStatus, event.status, _MESSAGE_STATUS)
        # A status this gateway does not know yet (a newer agents service) is left out.
        out.status = status if _is_message_status(status) else None
    elif kind == "error":
        out.error = event.error
    elif kind in ("tool_call", "tool_result"):
        out.tool_call = tool_call_out(event.tool_call)
        if kind == "tool_result":
            out.text = event.text
    elif kind in ("approval_required", "approval_decided"):
        out.approval = approval_out(event.approval)
    elif kind in ("delegated", "delegation_reply"):
        out.delegation = message_out(event.delegation)
        if kind == "delegation_reply":
            out.text = event.text
    elif kind == "cancelled":
        out.status = "cancelled"
    elif kind == "recall_skipped":
        out.text = event.text  # why project memory was not consulted
    return out


async def _relayed(
    call: grpc.aio.UnaryStreamCall[
        agent_service_pb2.StreamConversationEventsRequest, agent_service_pb2.StreamConversationEventsResponse
    ],
) -> AsyncIterator[ConversationEventOut]:
    """An accepted event stream's events, until the caller stops iterating (which ends the call)."""
    try:
        async for response in call:
            yield event_out(response.event)
    except grpc.aio.AioRpcError as error:
        raise rpc_error(error, _SERVICE) from None
    finally:
        call.cancel()


class AgentsClient:
    """AgentsApi over gRPC; the caller's identity is bound by the route."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = agent_service_pb2_grpc.AgentServiceStub(channel)

    async def create_agent(self, project_id: str, agent: AgentIn) -> AgentOut:
        request = agent_service_pb2.CreateAgentRequest(
            project_id=project_id, agent=agent_proto(agent.model_dump(by_alias=True))
        )
        return agent_out((await rpc(_SERVICE, self._stub.CreateAgent(request, timeout=WRITE_TIMEOUT))).agent)

    async def get_agent(self, project_id: str, agent_id: str) -> AgentOut:
        request = agent_service_pb2.GetAgentRequest(project_id=project_id, agent_id=agent_id)
        return agent_out((await rpc(_SERVICE, self._stub.GetAgent(request, timeout=READ_TIMEOUT))).agent)

    async def list_agents(self, project_id: str, limit: int, cursor: str) -> Page[AgentOut]:
        request = agent_service_pb2.ListAgentsRequest(project_id=project_id, page_size=limit, page_token=cursor)
        response = await rpc(_SERVICE, self._stub.ListAgents(request, timeout=READ_TIMEOUT))
        return Page(items=[agent_out(a) for a in response.agents], next_cursor=response.next_page_token or None)

    async def update_agent(self, project_id: str, agent_id: str, patch: AgentPatch) -> AgentOut:
        changes = patch.changed()
        if not changes:  # nothing to change: the service wants a non-empty mask
            return await self.get_agent(project_id, agent_id)
        agent = agent_proto(changes)
        agent.id = agent_id
        request = agent_service_pb2.UpdateAgentRequest(
            project_id=project_id, agent=agent, update_mask=field_mask_pb2.FieldMask(paths=sorted(changes))
        )
        return agent_out((await rpc(_SERVICE, self._stub.UpdateAgent(request, timeout=WRITE_TIMEOUT))).agent)

    async def delete_agent(self, project_id: str, agent_id: str) -> None:
        request = agent_service_pb2.DeleteAgentRequest(project_id=project_id, agent_id=agent_id)
        await rpc(_SERVICE, self._stub.DeleteAgent(request, timeout=WRITE_TIMEOUT))

    async def send_message(self, project_id: str, agent_id: str, message: MessageIn) -> MessageOut:
        request = agent_service_pb2.SendMessageRequest(
            project_id=project_id,
            agent_id=agent_id,
            content=to_value(message.content),
            conversation_id=str(message.conversation_id) if message.conversation_id else "",
            idempotency_key=message.idempotency_key or "",
        )
        return message_out((await rpc(_SERVICE, self._stub.SendMessage(request, timeout=WRITE_TIMEOUT))).message)

    async def publish_to_topic(self, project_id: str, topic: str, message: TopicMessageIn) -> list[MessageOut]:
        request = agent_service_pb2.PublishToTopicRequest(
            project_id=project_id,
            topic=topic,
            content=to_value(message.content),
            idempotency_key=message.idempotency_key or "",
        )
        # A fan-out's time grows with the subscribers (10,000 took 5-9 s on a busy test machine).
        response = await rpc(_SERVICE, self._stub.PublishToTopic(request, timeout=SLOW_TIMEOUT))
        return [message_out(m) for m in response.messages]

    async def cancel_message(self, project_id: str, message_id: str) -> MessageOut:
        request = agent_service_pb2.CancelMessageRequest(project_id=project_id, message_id=message_id)
        return message_out((await rpc(_SERVICE, self._stub.CancelMessage(request, timeout=WRITE_TIMEOUT))).message)

    async def list_messages(self, project_id: str, where: MessageFilter, limit: int, cursor: str) -> Page[MessageOut]:
        request = agent_service_pb2.ListMessagesRequest(
            project_id=project_id,
            agent_id=where.agent_id,
            conversation_id=where.conversation_id,
            status=enum_number(message_pb2.MessageStatus, where.status, _MESSAGE_STATUS)
            if where.status
            else message_pb2.MESSAGE_STATUS_UNSPECIFIED,
            page_size=limit,
            page_token=cursor,
        )
        response = await rpc(_SERVICE, self._stub.ListMessages(request, timeout=READ_TIMEOUT))
        return Page(items=[message_out(m) for m in response.messages], next_cursor=response.next_page_token or None)

    async def open_events(
        self, project_id: str, conversation_id: str, after: int
    ) -> AsyncIterator[ConversationEventOut]:
        """Open the conversation's event stream (no deadline: it is a tail).

        Returns once the service has accepted the watch (its response headers) and
        raises its refusal (NotFound, ...) instead, before any event flows.
        """
        request = agent_service_pb2.StreamConversationEventsRequest(
            project_id=project_id, conversation_id=conversation_id, after_sequence=after
        )
        call = self._stub.StreamConversationEvents(request)
        try:
            headers = await call.initial_metadata()
            # A call that ended before accepting answered with a status only: the refusal.
            if call.done() and (code := await call.code()) != grpc.StatusCode.OK:
                details = await call.details()
                raise grpc.aio.AioRpcError(code, headers, await call.trailing_metadata(), details)
        except grpc.aio.AioRpcError as error:
            raise rpc_error(error, _SERVICE) from None
        except BaseException:
            call.cancel()
            raise
        return _relayed(call)

    async def delete_project_data(self, project_id: str) -> None:
        request = agent_service_pb2.DeleteProjectDataRequest(project_id=project_id)
        await rpc(_SERVICE, self._stub.DeleteProjectData(request, timeout=SLOW_TIMEOUT))
