"""AgentsClient: memory asks the agents service, as itself, whether an agent is the project's.

Memory has checked the caller's project access already; the agents service accepts
only memory's own service identity from memory's key (agentmesh_grpc.trust).
"""

from __future__ import annotations

import grpc
import pytest

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2, agent_service_pb2_grpc
from agentmesh_core.errors import NotFound, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_devstack.grpc_testing import channel_to, serving
from agentmesh_devstack.ports import free_port
from agentmesh_grpc.identity import acting_as, caller
from agentmesh_memory.adapters.agents_client import AgentsClient

SERVICE = agent_service_pb2.DESCRIPTOR.services_by_name["AgentService"].full_name


class OneAgent(agent_service_pb2_grpc.AgentServiceServicer):
    """An agents service that knows one agent, and records who asked."""

    def __init__(self, project_id: str, agent_id: str) -> None:
        self.known = (project_id, agent_id)
        self.askers: list[str] = []

    async def GetAgent(self, request: agent_service_pb2.GetAgentRequest, context: grpc.aio.ServicerContext):
        self.askers.append(caller().subject)
        if (request.project_id, request.agent_id) != self.known:
            await context.abort(grpc.StatusCode.NOT_FOUND, "agent not found")
        return agent_service_pb2.GetAgentResponse(agent=agent_pb2.Agent(id=request.agent_id))


async def test_require_agent_as_memory_itself(member: Identity, project_id: str, agent_id: str) -> None:
    agents = OneAgent(project_id, agent_id)
    register = lambda server: agent_service_pb2_grpc.add_AgentServiceServicer_to_server(agents, server)  # noqa: E731
    async with serving(SERVICE, register) as address, channel_to(address, calling_as="memory") as channel:
        client = AgentsClient(channel)
        with acting_as(member):
            await client.require_agent(project_id, agent_id)
            for project, agent in ((project_id, new_id()), (new_id(), agent_id)):
                with pytest.raises(NotFound, match="agent not found"):
                    await client.require_agent(project, agent)
    assert agents.askers == ["memory"] * 3  # not the member: memory's key may assert only memory


async def test_agents_service_down_is_unavailable(member: Identity, project_id: str, agent_id: str) -> None:
    async with channel_to(f"127.0.0.1:{free_port()}") as channel:
        with acting_as(member), pytest.raises(Unavailable):
            await AgentsClient(channel, timeout_seconds=2.0).require_agent(project_id, agent_id)
