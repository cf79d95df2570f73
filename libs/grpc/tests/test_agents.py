"""AgentLookup: does an agent exist in a project, asked over AgentService.GetAgent.

The scheduler asks as its caller (the bound identity); memory asks as itself (its
own test covers that). Unknown and foreign agents are both NotFound.
"""

from __future__ import annotations

import grpc
import pytest

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2, agent_service_pb2_grpc
from agentmesh_core.errors import NotFound, Unavailable
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_devstack.grpc_testing import channel_to, serving
from agentmesh_devstack.ports import free_port
from agentmesh_grpc.agents import AgentLookup
from agentmesh_grpc.identity import acting_as, caller

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


async def test_unknown_and_foreign_agents_are_not_found_asked_as_the_caller() -> None:
    project_id, agent_id = new_id(), new_id()
    user = Identity(subject=new_id(), role=GlobalRole.USER, project_id=project_id, project_role=ProjectRole.ADMIN)
    agents = OneAgent(project_id, agent_id)
    register = lambda server: agent_service_pb2_grpc.add_AgentServiceServicer_to_server(agents, server)  # noqa: E731
    async with serving(SERVICE, register) as address, channel_to(address, calling_as="scheduler") as channel:
        lookup = AgentLookup(channel, timeout_seconds=5.0)
        with acting_as(user):
            await lookup.require_agent(project_id, agent_id)
            for project, agent in ((project_id, new_id()), (new_id(), agent_id)):
                with pytest.raises(NotFound, match="agent not found"):
                    await lookup.require_agent(project, agent)
    assert agents.askers == [user.subject] * 3


async def test_agents_service_down_is_unavailable() -> None:
    user = Identity(subject=new_id(), role=GlobalRole.USER)
    async with channel_to(f"127.0.0.1:{free_port()}", calling_as="scheduler") as channel:
        with acting_as(user), pytest.raises(Unavailable):
            await AgentLookup(channel, timeout_seconds=2.0).require_agent(new_id(), new_id())
