"""A real SchedulerService on a grpc.aio server (port 0) over in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_core.tokens import IdentityTokens
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.server import ServiceServer
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.rpc.servicer import SERVICE_NAME, SchedulerServicer, register

SECRET = "scheduler-service-test-secret-0123456789abcdef"


@pytest.fixture
def scheduler(repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, agents: FakeAgents) -> Scheduler:
    """The domain on the real clock (requests carry real times)."""
    return Scheduler(repository, engine, agents)


@pytest.fixture
async def address(scheduler: Scheduler) -> AsyncIterator[str]:
    server = ServiceServer(IdentityTokens(SECRET), "127.0.0.1:0")
    server.add_service(SERVICE_NAME, register(SchedulerServicer(scheduler)))
    await server.start()
    await server.set_serving()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


@pytest.fixture
async def stub(address: str) -> AsyncIterator[pb_grpc.SchedulerServiceStub]:
    channel = create_channel(address, IdentityTokens(SECRET))
    try:
        yield pb_grpc.SchedulerServiceStub(channel)
    finally:
        await channel.close()
