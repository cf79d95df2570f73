"""A real SchedulerService on a grpc.aio server (port 0) over in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_devstack.grpc_testing import channel_to, serving
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.rpc.servicer import SERVICE_NAME, SchedulerServicer, register


@pytest.fixture
def scheduler(repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, agents: FakeAgents) -> Scheduler:
    """The domain on the real clock (requests carry real times)."""
    return Scheduler(repository, engine, agents)


@pytest.fixture
async def address(scheduler: Scheduler, jobs: Jobs) -> AsyncIterator[str]:
    async with serving(SERVICE_NAME, lambda server: register(server, SchedulerServicer(scheduler, jobs))) as served:
        yield served


@pytest.fixture
async def stub(address: str) -> AsyncIterator[pb_grpc.SchedulerServiceStub]:
    async with channel_to(address) as channel:
        yield pb_grpc.SchedulerServiceStub(channel)
