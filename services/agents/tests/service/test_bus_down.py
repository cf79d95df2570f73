"""SendMessage answers fast while NATS is down: the message is stored queued (202 at the gateway),
and the recovery sweep posts it once NATS is back, so it is answered then.

Why stored-and-swept rather than 503: the row is durable before the publish, the
mailbox deduplicates by message id, and the sweep runs every few seconds, so the
sender loses nothing by being answered at once, and a client need not retry.
This test runs its own nats-server (stopped and started again on the same store).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf import struct_pb2

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2_grpc, message_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.adapters.scripted_inference import ScriptedInference
from agentmesh_agents.rpc.servicer import SERVICE_NAME, register
from agentmesh_agents.settings import AgentsSettings
from agentmesh_agents.wiring import build_components
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_db.database import Database
from agentmesh_devstack.infra import NatsServer
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_events import bus
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys

STATUS = message_pb2.MessageStatus


@dataclass
class BusWorld:
    nats: NatsServer
    stub: agent_service_pb2_grpc.AgentServiceStub
    admin: Identity
    project: str


@pytest.fixture
async def world(migrated_database_url: str, tmp_path: Path) -> AsyncIterator[BusWorld]:
    nats = NatsServer("127.0.0.1", free_port(), tmp_path / "nats", tmp_path)
    nats.start()
    settings = AgentsSettings(
        database_url=migrated_database_url,
        nats_url=nats.url_for("agents"),
        agents_listen_addr="127.0.0.1:0",
        inbox_partitions=2,
        ack_wait_seconds=10,
        recovery_min_age_seconds=1,
    )
    db = Database(migrated_database_url, pool_size=4)
    nc = await bus.connect(nats.url_for("agents"), "agents-bus-down-test")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    components = build_components(settings, db, js, ScriptedInference.echo(), StaticMemory([]))
    server = ServiceServer(ServiceKeys.local("agents").trust, settings.agents_listen_addr)
    server.add_servicer(SERVICE_NAME, register, components.servicer)
    await server.start()
    await components.runtime.start()
    await server.set_serving()
    stop = asyncio.Event()
    sweeping = asyncio.create_task(components.recovery.run(stop, 0.5))
    channel = create_channel(f"127.0.0.1:{server.port}", ServiceKeys.local("gateway").signer)
    project = str(uuid.uuid4())
    try:
        yield BusWorld(
            nats=nats,
            stub=agent_service_pb2_grpc.AgentServiceStub(channel),
            admin=Identity("admin-1", GlobalRole.USER, project, ProjectRole.ADMIN),
            project=project,
        )
    finally:
        stop.set()
        await sweeping
        await channel.close()
        await server.stop(grace=0)
        await components.runtime.stop(grace=1)
        await nc.close()
        nats.stop()
        db.dispose()


async def test_a_message_sent_while_nats_is_down_is_answered_within_a_second_and_posted_later(
    world: BusWorld,
) -> None:
    with acting_as(world.admin):
        agent = (
            await world.stub.CreateAgent(
                pb.CreateAgentRequest(project_id=world.project, agent=agent_pb2.Agent(name="echo"))
            )
        ).agent
    world.nats.stop()

    timings = []
    sent = []
    for n in range(3):
        with acting_as(world.admin):
            started = time.perf_counter()
            response = await world.stub.SendMessage(
                pb.SendMessageRequest(
                    project_id=world.project, agent_id=agent.id, content=struct_pb2.Value(string_value=f"hello {n}")
                )
            )
            timings.append(time.perf_counter() - started)
        sent.append(response.message)
    print(f"\nSendMessage with NATS down answered in {', '.join(f'{t:.2f}' for t in timings)} s")
    assert all(m.status == STATUS.MESSAGE_STATUS_QUEUED for m in sent)
    assert max(timings) < 1.0, timings  # it blocked 5 s (the publish timeout) before

    world.nats.start()

    async def all_answered() -> bool:
        with acting_as(world.admin):
            listed = await world.stub.ListMessages(pb.ListMessagesRequest(project_id=world.project, page_size=50))
        statuses = {m.id: m.status for m in listed.messages}
        return all(statuses[m.id] == STATUS.MESSAGE_STATUS_COMPLETE for m in sent)

    await eventually(
        all_answered, timeout=60, what="the messages sent while NATS was down to be answered once it is back"
    )


async def test_a_publish_while_nats_is_down_is_delivered_once_when_it_is_back(world: BusWorld) -> None:
    nats, stub = world.nats, world.stub
    with acting_as(world.admin):
        for name in ("a", "b", "c"):
            agent = agent_pb2.Agent(name=name, topics=["daily"])
            await stub.CreateAgent(pb.CreateAgentRequest(project_id=world.project, agent=agent))
    nats.stop()
    request = pb.PublishToTopicRequest(
        project_id=world.project,
        topic="daily",
        content=struct_pb2.Value(string_value="report"),
        idempotency_key="run-1",
    )

    with acting_as(world.admin):
        started = time.perf_counter()
        first = await stub.PublishToTopic(request, timeout=30)
        answered_in = time.perf_counter() - started
        again = await stub.PublishToTopic(request, timeout=30)

    assert len(first.messages) == 3 and all(m.status == message_pb2.MESSAGE_STATUS_QUEUED for m in first.messages)
    assert [m.id for m in again.messages] == [m.id for m in first.messages]
    assert answered_in < 5.0, answered_in  # each post gives up after the publish wait, not the 5 s bus timeout

    nats.start()

    async def log() -> list[message_pb2.Message]:
        with acting_as(world.admin):
            listed = await stub.ListMessages(pb.ListMessagesRequest(project_id=world.project, page_size=100))
        return list(listed.messages)

    async def all_answered() -> bool:
        replies = Counter(m.parent_id for m in await log() if m.performative == "reply")
        return set(replies) == {m.id for m in first.messages}

    await eventually(all_answered, timeout=60, what="the swept messages to be answered once NATS is back")
    messages = await log()
    assert sorted(m.id for m in messages if m.performative == "request") == sorted(m.id for m in first.messages)
    assert Counter(m.parent_id for m in messages if m.performative == "reply") == Counter(
        {m.id: 1 for m in first.messages}
    )
