"""The agents service, as memory needs it: does an agent exist in a project.

Memory has already checked the caller's access to the project; it asks as
itself (the only identity agents accept from memory, agentmesh_grpc.trust)
whether the agent is one of that project's: an agent of another project is as
unknown as a made-up id.
"""

from __future__ import annotations

import grpc

from agentmesh.agents.v1 import agent_service_pb2, agent_service_pb2_grpc
from agentmesh_core.errors import NotFound
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.identity import acting_as

MEMORY_SERVICE = Identity(subject="memory", role=GlobalRole.SERVICE)


class AgentsClient:
    """AgentDirectory over AgentService.GetAgent."""

    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float = 5.0) -> None:
        self._stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        self._timeout = timeout_seconds

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        """Raise NotFound("agent not found") unless the agent exists in the project."""
        request = agent_service_pb2.GetAgentRequest(project_id=project_id, agent_id=agent_id)
        try:
            with acting_as(MEMORY_SERVICE):
                await self._stub.GetAgent(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("agent not found") from None
            raise from_rpc_error(error) from None
