"""Does an agent exist in a project: AgentService.GetAgent, as the services that check agents ask it.

One question for memory (which asks as itself) and the scheduler (which asks as its
caller, or as itself inside activities): an agent of another project is as unknown
as a made-up id, NOT_FOUND either way.
"""

from __future__ import annotations

from contextlib import nullcontext

import grpc

from agentmesh.agents.v1 import agent_service_pb2, agent_service_pb2_grpc
from agentmesh_core.errors import NotFound
from agentmesh_core.identity import Identity
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.identity import acting_as


class AgentLookup:
    """require_agent over AgentService.GetAgent; as `acting` when given, else as the bound identity."""

    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float, acting: Identity | None = None) -> None:
        self._stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        self._timeout = timeout_seconds
        self._acting = acting

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        """Raise NotFound("agent not found") unless the agent exists in the project."""
        request = agent_service_pb2.GetAgentRequest(project_id=project_id, agent_id=agent_id)
        try:
            with acting_as(self._acting) if self._acting is not None else nullcontext():
                await self._stub.GetAgent(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("agent not found") from None
            raise from_rpc_error(error) from None
