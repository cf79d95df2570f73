"""A publish while NATS is down: stored first, answered at once, posted by the recovery sweep, answered once each.

The rows (publication and messages) are committed before any post, so a bus
outage (or a crash) between the two loses nothing: the messages stay queued
and unpublished, a retried publish with the same key finds them and adds
nothing, and the sweep posts them once NATS is back. Own nats-server, stopped
and started again on the same store.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
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
from agentmesh_core.tokens import IdentityTokens
from agentmesh_db.database import Database
from agentmesh_devstack.infra import NatsServer
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_events import bus
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.server import ServiceServer

PROJECT = str(uuid.uuid4())
MEMBER = Identity("user-1", GlobalRole.USER, PROJECT, ProjectRole.ADMIN)


@pytest.fixture
async def running(migrated_database_url: str, tmp_path: Path) -> AsyncIterator[tuple[NatsServer, object]]:
    """(the service's own nats-server, a stub of the service with its runtime and recovery sweep)."""
    nats = NatsServer("127.0.0.1", free_port(), tmp_path / "nats", tmp_path)
    nats.start()
    settings = AgentsSettings(
        database_url=migrated_database_url,
        nats_url=nats.url,
        agents_listen_addr="127.0.0.1:0",
        inbox_partitions=2,
        recovery_min_age_seconds=1,
    )
    tokens = IdentityTokens(settings.internal_secret.get_secret_value())
    db = Database(migrated_database_url, pool_size=4)
    nc = await bus.connect(nats.url, "agents-topics-bus-down-test")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    components = build_components(settings, db, js, ScriptedInference.echo(), StaticMemory([]))
    server = ServiceServer(tokens, settings.agents_listen_addr)
    server.add_servicer(SERVICE_NAME, register, components.servicer)
    await server.start()
    await components.runtime.start()
    await server.set_serving()
    stop = asyncio.Event()
    sweeping = asyncio.create_task(components.recovery.run(stop, 0.5))
    channel = create_channel(f"127.0.0.1:{server.port}", tokens)
    try:
        yield nats, agent_service_pb2_grpc.AgentServiceStub(channel)
    finally:
        stop.set()
        await sweeping
        await channel.close()
        await server.stop(grace=0)
        await components.runtime.stop(grace=1)
        await nc.close()
        nats.stop()
        db.dispose()


async def test_a_publish_while_nats_is_down_is_delivered_once_when_it_is_back(running) -> None:
    nats, stub = running
    with acting_as(MEMBER):
        for name in ("a", "b", "c"):
            agent = agent_pb2.Agent(name=name, topics=["daily"])
            await stub.CreateAgent(pb.CreateAgentRequest(project_id=PROJECT, agent=agent))
    nats.stop()
    request = pb.PublishToTopicRequest(
        project_id=PROJECT, topic="daily", content=struct_pb2.Value(string_value="report"), idempotency_key="run-1"
    )

    with acting_as(MEMBER):
        started = time.perf_counter()
        first = await stub.PublishToTopic(request, timeout=30)
        answered_in = time.perf_counter() - started
        again = await stub.PublishToTopic(request, timeout=30)

    assert len(first.messages) == 3 and all(m.status == message_pb2.MESSAGE_STATUS_QUEUED for m in first.messages)
    assert [m.id for m in again.messages] == [m.id for m in first.messages]
    assert answered_in < 5.0, answered_in  # each post gives up after the publish wait, not the 5 s bus timeout

    nats.start()

    async def log() -> list[message_pb2.Message]:
        with acting_as(MEMBER):
            listed = await stub.ListMessages(pb.ListMessagesRequest(project_id=PROJECT, page_size=100))
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
