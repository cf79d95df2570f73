"""The agents service, as the scheduler needs it: does an agent exist, send it a message,
has it replied (job steps), and a failed run or job reported to the monitor.

Calls carry the bound identity (the RPC caller, or the scheduler's service
identity inside activities) through the channel's client interceptor.
"""

from __future__ import annotations

import grpc
from google.protobuf import json_format, struct_pb2

from agentmesh.agents.v1 import agent_service_pb2, agent_service_pb2_grpc, message_pb2
from agentmesh.common.v1 import system_event_pb2
from agentmesh_grpc.agents import AgentLookup
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.struct_values import value_to_json
from agentmesh_scheduler.domain.failures import Failure
from agentmesh_scheduler.domain.jobs import ReplyState, ReplyStatus, SentMessage
from agentmesh_scheduler.domain.models import JsonValue

# The performative of a scheduled message: it asks the agent to do its job.
SCHEDULED_PERFORMATIVE = "request"
# A step's conversation holds its request and the reply (and, later, tool turns).
CONVERSATION_PAGE = 50
# What ReportSystemEvent accepts as detail, and the system event kind of each failure.
REPORT_DETAIL_MAX_CHARS = 1000
_KINDS = {
    Failure.SCHEDULE_RUN: system_event_pb2.SYSTEM_EVENT_KIND_SCHEDULE_FAILED,
    Failure.JOB: system_event_pb2.SYSTEM_EVENT_KIND_JOB_FAILED,
}
# The statuses after which a step's message changes no more.
_FINAL = (message_pb2.MESSAGE_STATUS_COMPLETE, message_pb2.MESSAGE_STATUS_ERROR, message_pb2.MESSAGE_STATUS_CANCELLED)


def _value(content: JsonValue) -> struct_pb2.Value:
    value = struct_pb2.Value()
    # ParseDict fills a Value from any JSON value; its stub only admits dicts.
    json_format.ParseDict(content, value)  # type: ignore[arg-type]
    return value


class AgentsClient:
    """AgentDirectory, MessageSender and FailureReports over AgentService."""

    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float = 10.0) -> None:
        self._stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        self._timeout = timeout_seconds
        self._lookup = AgentLookup(channel, timeout_seconds)

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        """Raise NotFound("agent not found") unless the agent exists in the project (asked as the bound identity)."""
        await self._lookup.require_agent(project_id, agent_id)

    async def send_step(
        self, *, project_id: str, agent_id: str, content: JsonValue, idempotency_key: str, correlation_id: str
    ) -> SentMessage:
        """Queue a job step's message in a new conversation; the same message on a repeated key."""
        message = await self._send(project_id, agent_id, content, idempotency_key, correlation_id)
        return SentMessage(message.id, message.conversation_id)

    async def reply_state(self, project_id: str, message_id: str, conversation_id: str) -> ReplyState:
        """The request's status in its conversation and, once complete, the reply's content."""
        request = agent_service_pb2.ListMessagesRequest(
            project_id=project_id, conversation_id=conversation_id, page_size=CONVERSATION_PAGE
        )
        try:
            response = await self._stub.ListMessages(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        sent = next((m for m in response.messages if m.id == message_id), None)
        if sent is None or sent.status not in _FINAL:
            return ReplyState(ReplyStatus.WAITING)
        if sent.status == message_pb2.MESSAGE_STATUS_CANCELLED:
            return ReplyState(ReplyStatus.FAILED, error="the agent's turn was cancelled")
        if sent.status == message_pb2.MESSAGE_STATUS_ERROR:
            return ReplyState(ReplyStatus.FAILED, error=sent.error or "the agent failed")
        reply = next((m for m in response.messages if m.parent_id == message_id), None)
        if reply is None:
            # Complete is written with its reply in one transaction; a reply on a later page is the
            # only way to miss it, so wait for the next poll rather than guess.
            return ReplyState(ReplyStatus.WAITING)
        return ReplyState(ReplyStatus.COMPLETE, output=value_to_json(reply.content))

    async def cancel_step(self, project_id: str, message_id: str) -> None:
        """Cancel the step's message; one that already ended (or is gone) is left as it is."""
        request = agent_service_pb2.CancelMessageRequest(project_id=project_id, message_id=message_id)
        try:
            await self._stub.CancelMessage(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() not in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                raise from_rpc_error(error) from None

    async def failed(
        self, what: Failure, *, project_id: str, agent_id: str, detail: str, occurrence_key: str, subject: str = ""
    ) -> None:
        """Report a failure to the monitor (as the bound identity: the scheduler's, inside activities)."""
        request = agent_service_pb2.ReportSystemEventRequest(
            project_id=project_id,
            agent_id=agent_id,
            kind=_KINDS[what],
            detail=detail[:REPORT_DETAIL_MAX_CHARS],
            occurrence_key=occurrence_key,
            subject=subject,
        )
        try:
            await self._stub.ReportSystemEvent(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None

    async def send(
        self,
        *,
        project_id: str,
        agent_id: str,
        content: JsonValue,
        idempotency_key: str,
        correlation_id: str,
    ) -> str:
        """Queue a message for the agent; returns its id (the same one on a repeated key)."""
        return (await self._send(project_id, agent_id, content, idempotency_key, correlation_id)).id

    async def _send(
        self, project_id: str, agent_id: str, content: JsonValue, idempotency_key: str, correlation_id: str
    ) -> message_pb2.Message:
        request = agent_service_pb2.SendMessageRequest(
            project_id=project_id,
            agent_id=agent_id,
            content=_value(content),
            idempotency_key=idempotency_key,
            performative=SCHEDULED_PERFORMATIVE,
            correlation_id=correlation_id,
        )
        try:
            response = await self._stub.SendMessage(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return response.message
