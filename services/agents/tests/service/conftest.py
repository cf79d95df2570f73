"""The real servicer and runtime in a grpc.aio server on port 0, over real PostgreSQL and NATS.

The model is ScriptedInference (echo) and memory a StaticMemory: the only
stand-ins, for what a test machine has no useful form of.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from agentmesh.agents.v1 import agent_service_pb2_grpc
from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.adapters.scripted_inference import ScriptedInference
from agentmesh_agents.rpc.servicer import SERVICE_NAME, register
from agentmesh_agents.settings import AgentsSettings
from agentmesh_agents.wiring import Components, build_components
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_db.database import Database
from agentmesh_devstack.grpc_testing import channel_to
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.processes import ManagedProcess
from agentmesh_events import bus
from agentmesh_events.bus import ensure_streams
from agentmesh_events.subjects import INBOX_STREAM
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys


@dataclass
class Service:
    """A running agents service and who may call it."""

    stub: agent_service_pb2_grpc.AgentServiceStub
    port: int
    project: str
    admin: Identity
    member: Identity
    outsider: Identity
    superadmin: Identity
    inference: ScriptedInference
    memory: StaticMemory
    components: Components
    js: JetStreamContext


@pytest.fixture
async def service(migrated_database_url: str, nats_url: str) -> AsyncIterator[Service]:
    settings = AgentsSettings(
        database_url=migrated_database_url,
        nats_url=nats_url,
        agents_listen_addr="127.0.0.1:0",
        inbox_partitions=2,
        ack_wait_seconds=10,
    )
    db = Database(migrated_database_url, pool_size=4)
    nc = await bus.connect(nats_url, "agents-service-tests")
    js = nc.jetstream()
    await ensure_streams(js)
    inference = ScriptedInference.echo()
    memory = StaticMemory(["Agents reply politely."])
    components = build_components(settings, db, js, inference, memory)
    server = ServiceServer(ServiceKeys.local("agents").trust, settings.agents_listen_addr)
    server.add_servicer(SERVICE_NAME, register, components.servicer)
    await server.start()
    await components.runtime.start()
    await server.set_serving()
    channel = create_channel(f"127.0.0.1:{server.port}", ServiceKeys.local("gateway").signer)
    project = str(uuid.uuid4())
    try:
        yield Service(
            stub=agent_service_pb2_grpc.AgentServiceStub(channel),
            port=server.port,
            project=project,
            admin=Identity("admin-1", GlobalRole.USER, project, ProjectRole.ADMIN),
            member=Identity("user-1", GlobalRole.USER, project, ProjectRole.USER),
            outsider=Identity("user-2", GlobalRole.USER, str(uuid.uuid4()), ProjectRole.ADMIN),
            superadmin=Identity("root", GlobalRole.SUPERADMIN),
            inference=inference,
            memory=memory,
            components=components,
            js=js,
        )
    finally:
        await channel.close()
        await server.stop(grace=0)
        await components.runtime.stop(grace=1)
        for info in await js.consumers_info(INBOX_STREAM):
            try:
                await js.delete_consumer(INBOX_STREAM, info.name)
            except NotFoundError:
                pass
        await js.purge_stream(INBOX_STREAM)
        await nc.drain()
        db.dispose()


@dataclass
class AgentsProcess:
    """`python -m agentmesh_agents` as a real process (the crash tests kill it), its logs under log_dir."""

    env: dict[str, str]
    address: str
    log_dir: Path
    process: ManagedProcess | None = None

    @classmethod
    def configured(
        cls, database_url: str, nats_url: str, inference: str, memory: str, log_dir: Path, **settings: str
    ) -> AgentsProcess:
        """On a free port, against these services; `settings` are AGENTMESH_<NAME> values."""
        address = f"127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            "AGENTMESH_DATABASE_URL": database_url,
            "AGENTMESH_NATS_URL": nats_url,
            "AGENTMESH_AGENTS_LISTEN_ADDR": address,
            "AGENTMESH_INFERENCE_SERVICE_ADDR": inference,
            "AGENTMESH_MEMORY_SERVICE_ADDR": memory,
            **{f"AGENTMESH_{name.upper()}": value for name, value in settings.items()},
            "PYTHONUNBUFFERED": "1",
        }
        return cls(env, address, log_dir)

    def start(self, name: str) -> None:
        self.process = ManagedProcess(
            name, [sys.executable, "-m", "agentmesh_agents"], self.log_dir / f"{name}.log", self.env
        )
        self.process.start()

    def kill(self) -> None:
        assert self.process is not None
        self.process.stop(grace=5, sig=signal.SIGKILL)

    async def serving(self) -> bool:
        async with channel_to(self.address) as channel:
            return await check_health(channel, timeout=1)

    def log_lines(self, name: str, text: str) -> int:
        """How many lines of that process's log hold text."""
        path = self.log_dir / f"{name}.log"
        return sum(text in line for line in path.read_text(errors="replace").splitlines()) if path.exists() else 0
