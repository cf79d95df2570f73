"""Agent CRUD through the generated stub, with project access rules."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2_grpc
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_agents.rpc.mapping import struct_proto
from agentmesh_devstack.grpc_testing import stranger_signer
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.identity import acting_as


async def _create(service, name="helper", who=None, **fields) -> agent_pb2.Agent:
    with acting_as(who or service.admin):
        response = await service.stub.CreateAgent(
            pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name=name, **fields))
        )
    return response.agent


async def _code(coro) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await coro
    return caught.value.code()


async def test_admin_manages_and_member_reads(service):
    created = await _create(
        service,
        purpose="answers",
        system_prompt="Be brief.",
        model_config=struct_proto({"temperature": 0.3, "max_tokens": 64}),
        topics=["daily"],
    )
    assert created.id and created.project_id == service.project
    assert created.status == agent_pb2.AGENT_STATUS_ACTIVE
    assert created.model_config["max_tokens"] == 64

    with acting_as(service.member):
        got = (await service.stub.GetAgent(pb.GetAgentRequest(project_id=service.project, agent_id=created.id))).agent
        listed = await service.stub.ListAgents(pb.ListAgentsRequest(project_id=service.project))
    assert got == created
    assert [a.id for a in listed.agents] == [created.id]

    with acting_as(service.admin):
        updated = (
            await service.stub.UpdateAgent(
                pb.UpdateAgentRequest(
                    project_id=service.project,
                    agent=agent_pb2.Agent(id=created.id, purpose="new", status=agent_pb2.AGENT_STATUS_PAUSED),
                    update_mask=field_mask_pb2.FieldMask(paths=["purpose", "status"]),
                )
            )
        ).agent
        assert (updated.purpose, updated.status, updated.system_prompt) == (
            "new",
            agent_pb2.AGENT_STATUS_PAUSED,
            "Be brief.",
        )
        await service.stub.DeleteAgent(pb.DeleteAgentRequest(project_id=service.project, agent_id=created.id))
        code = await _code(service.stub.GetAgent(pb.GetAgentRequest(project_id=service.project, agent_id=created.id)))
    assert code == grpc.StatusCode.NOT_FOUND


async def test_superadmin_may_act_in_any_project(service):
    agent = await _create(service, who=service.superadmin)
    assert agent.project_id == service.project


async def test_list_pagination(service):
    for i in range(3):
        await _create(service, name=f"agent-{i}")
    with acting_as(service.member):
        first = await service.stub.ListAgents(pb.ListAgentsRequest(project_id=service.project, page_size=2))
        second = await service.stub.ListAgents(
            pb.ListAgentsRequest(project_id=service.project, page_size=2, page_token=first.next_page_token)
        )
    assert len(first.agents) == 2 and len(second.agents) == 1 and second.next_page_token == ""


async def test_a_delete_between_pages_skips_nothing(service):
    made = [await _create(service, name=f"kept-{i}") for i in range(3)]
    with acting_as(service.member):
        first = await service.stub.ListAgents(pb.ListAgentsRequest(project_id=service.project, page_size=2))
    with acting_as(service.admin):
        await service.stub.DeleteAgent(pb.DeleteAgentRequest(project_id=service.project, agent_id=made[0].id))
    with acting_as(service.member):
        second = await service.stub.ListAgents(
            pb.ListAgentsRequest(project_id=service.project, page_size=2, page_token=first.next_page_token)
        )
    # An offset would now start at the third agent's old neighbour and skip it.
    assert [a.id for a in first.agents] + [a.id for a in second.agents] == [a.id for a in made]


async def test_non_member_gets_not_found(service):
    agent = await _create(service)
    calls = [
        lambda: service.stub.GetAgent(pb.GetAgentRequest(project_id=service.project, agent_id=agent.id)),
        lambda: service.stub.ListAgents(pb.ListAgentsRequest(project_id=service.project)),
        lambda: service.stub.CreateAgent(
            pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name="x"))
        ),
        lambda: service.stub.DeleteAgent(pb.DeleteAgentRequest(project_id=service.project, agent_id=agent.id)),
        lambda: service.stub.ListMessages(pb.ListMessagesRequest(project_id=service.project)),
        lambda: service.stub.DeleteProjectData(pb.DeleteProjectDataRequest(project_id=service.project)),
    ]
    with acting_as(service.outsider):
        codes = [await _code(call()) for call in calls]
    assert codes == [grpc.StatusCode.NOT_FOUND] * len(calls)


async def test_project_user_cannot_write(service):
    agent = await _create(service)
    calls = [
        lambda: service.stub.CreateAgent(
            pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name="x"))
        ),
        lambda: service.stub.UpdateAgent(
            pb.UpdateAgentRequest(
                project_id=service.project,
                agent=agent_pb2.Agent(id=agent.id, purpose="p"),
                update_mask=field_mask_pb2.FieldMask(paths=["purpose"]),
            )
        ),
        lambda: service.stub.DeleteAgent(pb.DeleteAgentRequest(project_id=service.project, agent_id=agent.id)),
        lambda: service.stub.DeleteProjectData(pb.DeleteProjectDataRequest(project_id=service.project)),
    ]
    with acting_as(service.member):
        codes = [await _code(call()) for call in calls]
    assert codes == [grpc.StatusCode.PERMISSION_DENIED] * len(calls)


async def test_call_without_identity_is_unauthenticated(service):
    code = await _code(service.stub.ListAgents(pb.ListAgentsRequest(project_id=service.project)))
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_forged_identity_is_unauthenticated(service):
    channel = create_channel(f"127.0.0.1:{service.port}", stranger_signer())
    try:
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        with acting_as(service.superadmin):
            code = await _code(stub.ListAgents(pb.ListAgentsRequest(project_id=service.project)))
        assert code == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await channel.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "x" * 500},
        {"name": "ok", "model_config": struct_proto({"temperature": 9})},
        {"name": "ok", "model_config": struct_proto({"max_tokens": 10**7})},
        {"name": "ok", "model_config": struct_proto({"nonsense": 1})},
        {"name": "ok", "topics": ["no spaces allowed"]},
        {"name": "ok", "status": 42},
    ],
)
async def test_bad_agent_is_invalid_argument(service, fields):
    with acting_as(service.admin):
        code = await _code(
            service.stub.CreateAgent(pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(**fields)))
        )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_bad_ids_and_masks_are_invalid_argument(service):
    agent = await _create(service)
    calls = [
        lambda: service.stub.GetAgent(pb.GetAgentRequest(project_id=service.project, agent_id="not-a-uuid")),
        lambda: service.stub.ListAgents(pb.ListAgentsRequest(project_id=service.project, page_token="garbage")),
        lambda: service.stub.ListAgents(pb.ListAgentsRequest(project_id=service.project, page_size=-5)),
        lambda: service.stub.UpdateAgent(
            pb.UpdateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(id=agent.id))
        ),
        lambda: service.stub.UpdateAgent(
            pb.UpdateAgentRequest(
                project_id=service.project,
                agent=agent_pb2.Agent(id=agent.id),
                update_mask=field_mask_pb2.FieldMask(paths=["create_time"]),
            )
        ),
    ]
    with acting_as(service.admin):
        codes = [await _code(call()) for call in calls]
    with acting_as(service.superadmin):
        codes.append(await _code(service.stub.ListAgents(pb.ListAgentsRequest(project_id="nope"))))
    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * len(codes)


async def test_duplicate_name_already_exists(service):
    await _create(service, name="twin")
    with acting_as(service.admin):
        code = await _code(
            service.stub.CreateAgent(
                pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name="twin"))
            )
        )
    assert code == grpc.StatusCode.ALREADY_EXISTS


async def test_health_is_serving(service):
    channel = create_channel(f"127.0.0.1:{service.port}", stranger_signer())
    try:
        assert await check_health(channel)
        assert await check_health(channel, "agentmesh.agents.v1.AgentService")
    finally:
        await channel.close()
