"""A turn parked on an approval survives a restart of the agents service.

The first instance parks the turn and stops; a second one, on the same
PostgreSQL and NATS, takes the decision and finishes the turn from its stored
state (its model is asked only for the remaining step). Nothing waited on the
mailbox in between: the parked request was acked.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from google.protobuf import struct_pb2
from nats.js.errors import NotFoundError

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2_grpc, message_pb2, tool_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.adapters.scripted_inference import ScriptedInference
from agentmesh_agents.rpc.servicer import SERVICE_NAME, register
from agentmesh_agents.settings import AgentsSettings
from agentmesh_agents.wiring import build_components, seed_builtin_tools
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_db.database import Database
from agentmesh_devstack.waiting import eventually
from agentmesh_events import bus
from agentmesh_events.subjects import INBOX_STREAM
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys

PROJECT = str(uuid.uuid4())
ADMIN = Identity("admin-1", GlobalRole.USER, PROJECT, ProjectRole.ADMIN)
ROOT = Identity("root", GlobalRole.SUPERADMIN)


@dataclass
class Instance:
    stub: agent_service_pb2_grpc.AgentServiceStub
    inference: ScriptedInference


@contextlib.asynccontextmanager
async def running(database_url: str, nats_url: str, inference: ScriptedInference) -> AsyncIterator[Instance]:
    """One agents service instance (servicer + runtime), stopped on exit like a process would be."""
    settings = AgentsSettings(
        database_url=database_url, nats_url=nats_url, agents_listen_addr="127.0.0.1:0", inbox_partitions=2
    )
    db = Database(database_url, pool_size=4)
    nc = await bus.connect(nats_url, "agents-restart-tests")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    components = build_components(settings, db, js, inference, StaticMemory())
    await seed_builtin_tools(components)
    server = ServiceServer(ServiceKeys.local("agents").trust, settings.agents_listen_addr)
    server.add_servicer(SERVICE_NAME, register, components.servicer)
    await server.start()
    await components.runtime.start()
    await server.set_serving()
    channel = create_channel(f"127.0.0.1:{server.port}", ServiceKeys.local("gateway").signer)
    try:
        yield Instance(agent_service_pb2_grpc.AgentServiceStub(channel), inference)
    finally:
        await channel.close()
        await server.stop(grace=0)
        await components.runtime.stop(grace=1)
        await nc.drain()
        db.dispose()


@pytest.fixture
async def clean_inbox(nats_url: str) -> AsyncIterator[None]:
    yield
    nc = await bus.connect(nats_url, "agents-restart-cleanup")
    js = nc.jetstream()
    for info in await js.consumers_info(INBOX_STREAM):
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(INBOX_STREAM, info.name)
    await js.purge_stream(INBOX_STREAM)
    await nc.drain()


def _final_from_observation(turns) -> list[str]:
    seen = [t.content.removeprefix("Observation: ") for t in turns if t.content.startswith("Observation: ")]
    return [json.dumps({"final": f"result: {seen[-1]}"})]


async def _request(stub, message_id: str) -> message_pb2.Message:
    with acting_as(ADMIN):
        log = await stub.ListMessages(pb.ListMessagesRequest(project_id=PROJECT))
    return next(m for m in log.messages if m.id == message_id)


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (tool_pb2.APPROVAL_DECISION_APPROVE, ("result: 4096", tool_pb2.TOOL_CALL_OUTCOME_ALLOWED)),
        (tool_pb2.APPROVAL_DECISION_DENY, ("result: denied by a project admin: no", tool_pb2.TOOL_CALL_OUTCOME_DENIED)),
    ],
    ids=["approve", "deny"],
)
@pytest.mark.usefixtures("clean_inbox")
async def test_a_parked_turn_goes_on_after_a_restart(
    migrated_database_url: str, nats_url: str, decision, expected
) -> None:
    first_model = ScriptedInference([[json.dumps({"tool": "calculator", "arguments": {"expression": "4**6"}})]])
    async with running(migrated_database_url, nats_url, first_model) as first:
        with acting_as(ADMIN):
            agent = (
                await first.stub.CreateAgent(
                    pb.CreateAgentRequest(project_id=PROJECT, agent=agent_pb2.Agent(name="careful"))
                )
            ).agent
        with acting_as(ROOT):
            grant = tool_pb2.AgentTool(name="calculator", requires_approval=True)
            await first.stub.SetAgentTools(
                pb.SetAgentToolsRequest(project_id=PROJECT, agent_id=agent.id, tools=[grant])
            )
        with acting_as(ADMIN):
            sent = (
                await first.stub.SendMessage(
                    pb.SendMessageRequest(
                        project_id=PROJECT, agent_id=agent.id, content=struct_pb2.Value(string_value="4**6?")
                    )
                )
            ).message

        async def parked():
            request = await _request(first.stub, sent.id)
            return request.status == message_pb2.MESSAGE_STATUS_AWAITING_APPROVAL

        await eventually(parked, timeout=20, what="the turn to park on its approval")

    second_model = ScriptedInference([_final_from_observation])
    async with running(migrated_database_url, nats_url, second_model) as second:
        with acting_as(ADMIN):
            listed = await second.stub.ListApprovals(
                pb.ListApprovalsRequest(project_id=PROJECT, status=tool_pb2.APPROVAL_STATUS_PENDING)
            )
            (approval,) = listed.approvals
            assert approval.tool == "calculator" and approval.message_id == sent.id
            decided = await second.stub.DecideApproval(
                pb.DecideApprovalRequest(project_id=PROJECT, approval_id=approval.id, decision=decision, comment="no")
            )
        assert decided.approval.status in (tool_pb2.APPROVAL_STATUS_APPROVED, tool_pb2.APPROVAL_STATUS_DENIED)

        async def complete():
            return (await _request(second.stub, sent.id)).status == message_pb2.MESSAGE_STATUS_COMPLETE

        await eventually(complete, timeout=20, what="the resumed turn to complete")
        with acting_as(ADMIN):
            log = await second.stub.ListMessages(pb.ListMessagesRequest(project_id=PROJECT))
            audit = await second.stub.ListToolCalls(pb.ListToolCallsRequest(project_id=PROJECT))
        reply = next(m for m in log.messages if m.performative == "reply" and m.parent_id == sent.id)
        answer, outcome = expected
        assert reply.content.string_value == answer
        assert [c.outcome for c in audit.tool_calls] == [outcome]
        # The second model was asked once: the turn went on from its stored state.
        assert len(second.inference.calls) == 1
