"""The agents service, as the scheduler needs it: does an agent exist, send it a message.

Calls carry the bound identity (the RPC caller, or the scheduler's service
identity inside activities) through the channel's client interceptor.
"""

from __future__ import annotations

import grpc
from google.protobuf import json_format, struct_pb2

from agentmesh.agents.v1 import agent_service_pb2, agent_service_pb2_grpc
from agentmesh_core.errors import NotFound
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_scheduler.domain.models import JsonValue

# The performative of a scheduled message: it asks the agent to do its job.
SCHEDULED_PERFORMATIVE = "request"


def _value(content: JsonValue) -> struct_pb2.Value:
    value = struct_pb2.Value()
    # ParseDict fills a Value from any JSON value; its stub only admits dicts.
    json_format.ParseDict(content, value)  # type: ignore[arg-type]
    return value


class AgentsClient:
    """AgentDirectory and MessageSender over AgentService."""

    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float = 10.0) -> None:
        self._stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        self._timeout = timeout_seconds

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        """Raise NotFound("agent not found") unless the agent exists in the project."""
        request = agent_service_pb2.GetAgentRequest(project_id=project_id, agent_id=agent_id)
        try:
            await self._stub.GetAgent(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("agent not found") from None
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
        return response.message.id
