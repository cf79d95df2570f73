"""Who may assert what at the agents service (agentmesh_grpc.trust), over a real gRPC server.

Each service signs with its own key; the agents service checks the signature, the
audience, and what that issuer may assert. A stolen memory key mints no superadmin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2_grpc
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import IDENTITY_METADATA_KEY, acting_as
from agentmesh_grpc.trust import ServiceKeys

MEMORY = Identity("memory", GlobalRole.SERVICE)


@pytest.fixture
async def calling_as(service) -> AsyncIterator:
    """A stub onto the agents service that signs as the named service, with that service's key."""
    channels: list[grpc.aio.Channel] = []

    def stub(name: str) -> agent_service_pb2_grpc.AgentServiceStub:
        channels.append(create_channel(f"127.0.0.1:{service.port}", ServiceKeys.local(name).signer))
        return agent_service_pb2_grpc.AgentServiceStub(channels[-1])

    yield stub
    for channel in channels:
        await channel.close()


async def _code(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def _agent(service) -> str:
    with acting_as(service.admin):
        created = await service.stub.CreateAgent(
            pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name="trusted"))
        )
    return created.agent.id


async def test_memory_key_cannot_mint_a_superadmin_call(service, calling_as):
    agent_id = await _agent(service)
    memory = calling_as("memory")
    delete = pb.DeleteAgentRequest(project_id=service.project, agent_id=agent_id)
    with acting_as(service.superadmin):
        assert await _code(memory.DeleteAgent(delete)) == grpc.StatusCode.PERMISSION_DENIED
        assert await _code(memory.GetAgent(pb.GetAgentRequest(project_id=service.project, agent_id=agent_id))) == (
            grpc.StatusCode.PERMISSION_DENIED
        )
    with acting_as(service.admin):  # a project admin neither
        assert await _code(memory.DeleteAgent(delete)) == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(MEMORY):  # as itself, only the one method memory needs
        assert await _code(memory.DeleteAgent(delete)) == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(service.admin):
        assert (await service.stub.GetAgent(pb.GetAgentRequest(project_id=service.project, agent_id=agent_id))).agent


async def test_memory_asks_as_itself_whether_an_agent_exists(service, calling_as):
    agent_id = await _agent(service)
    memory = calling_as("memory")
    with acting_as(MEMORY):
        found = await memory.GetAgent(pb.GetAgentRequest(project_id=service.project, agent_id=agent_id))
        assert found.agent.id == agent_id
        other_project = pb.GetAgentRequest(project_id=service.outsider.project_id, agent_id=agent_id)
        assert await _code(memory.GetAgent(other_project)) == grpc.StatusCode.NOT_FOUND


async def test_scheduler_may_call_for_users_but_not_as_another_service(service, calling_as):
    scheduler = calling_as("scheduler")
    listing = pb.ListAgentsRequest(project_id=service.project)
    await _agent(service)
    with acting_as(service.admin):
        assert len((await scheduler.ListAgents(listing)).agents) == 1
    with acting_as(Identity("scheduler", GlobalRole.SERVICE)):
        assert len((await scheduler.ListAgents(listing)).agents) == 1
    with acting_as(Identity("gateway", GlobalRole.SERVICE)):
        assert await _code(scheduler.ListAgents(listing)) == grpc.StatusCode.PERMISSION_DENIED


async def test_a_service_that_never_calls_agents_is_not_trusted(service, calling_as):
    with acting_as(Identity("inference", GlobalRole.SERVICE)):
        code = await _code(calling_as("inference").ListAgents(pb.ListAgentsRequest(project_id=service.project)))
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_token_addressed_to_memory_is_refused_by_agents(service):
    """What memory receives from the gateway (a user's identity, for memory) cannot be replayed at agents."""
    for_memory = ServiceKeys.local("gateway").signer.issue(service.superadmin, "memory")
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    try:
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        call = stub.ListAgents(
            pb.ListAgentsRequest(project_id=service.project), metadata=((IDENTITY_METADATA_KEY, for_memory),)
        )
        assert await _code(call) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await channel.close()
