"""The composed service (main.serve): real PostgreSQL, Temporal, gRPC server and worker.

The agents service is a small fake AgentService on a real gRPC server, so the
identity the scheduler signs onto its calls is checked the way the real one
would see it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2, agent_service_pb2_grpc, message_pb2
from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_core.errors import NotFound
from agentmesh_core.identity import GlobalRole, Identity, require_project_access
from agentmesh_core.ids import new_id
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.identity import acting_as, caller
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_scheduler.main import serve
from agentmesh_scheduler.settings import SchedulerSettings

SECRET = "scheduler-main-test-secret-0123456789abcdefgh"


class FakeAgentService(agent_service_pb2_grpc.AgentServiceServicer):
    """GetAgent for one known agent; SendMessage records the request and its caller."""

    def __init__(self, project_id: str, agent_id: str) -> None:
        self.project_id, self.agent_id = project_id, agent_id
        self.sent: list[tuple[agent_service_pb2.SendMessageRequest, Identity]] = []

    async def GetAgent(self, request, context):
        require_project_access(caller(), request.project_id)
        if (request.project_id, request.agent_id) != (self.project_id, self.agent_id):
            raise NotFound("agent not found")
        return agent_service_pb2.GetAgentResponse(agent=agent_pb2.Agent(id=self.agent_id, project_id=self.project_id))

    async def SendMessage(self, request, context):
        require_project_access(caller(), request.project_id)
        self.sent.append((request, caller()))
        return agent_service_pb2.SendMessageResponse(message=message_pb2.Message(id=new_id()))


@dataclass
class Running:
    stub: pb_grpc.SchedulerServiceStub
    agents: FakeAgentService
    channel: grpc.aio.Channel
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def running(
    database_url: str, temporal_address: str, task_queue: str, project_id: str, agent_id: str
) -> AsyncIterator[Running]:
    agents = FakeAgentService(project_id, agent_id)
    agents_server = ServiceServer(ServiceKeys.local("agents").trust, "127.0.0.1:0")
    agents_server.add_service(
        "agentmesh.agents.v1.AgentService",
        lambda s: agent_service_pb2_grpc.add_AgentServiceServicer_to_server(agents, s),
    )
    await agents_server.start()
    settings = SchedulerSettings(
        database_url=database_url,
        scheduler_listen_addr=f"127.0.0.1:{free_port()}",
        temporal_address=temporal_address,
        task_queue=task_queue,
        agents_service_addr=f"127.0.0.1:{agents_server.port}",
        shutdown_grace_seconds=1,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    channel = create_channel(settings.scheduler_listen_addr, ServiceKeys.local("gateway").signer)

    async def serving() -> bool:
        if task.done():
            pytest.fail(f"serve() ended during start-up: {task}")
        return await check_health(channel)

    try:
        await eventually(serving, timeout=30, interval=0.1, what="the scheduler to be SERVING")
        yield Running(pb_grpc.SchedulerServiceStub(channel), agents, channel, stop)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await channel.close()
        await agents_server.stop(0)


def _create(project_id: str, agent_id: str, seconds: int) -> pb.CreateScheduleRequest:
    return pb.CreateScheduleRequest(
        project_id=project_id,
        schedule=pb.Schedule(
            agent_id=agent_id,
            spec=pb.ScheduleSpec(interval_seconds=seconds),
            payload=struct_pb2.Value(string_value="status report, please"),
            enabled=True,
        ),
    )


async def test_schedule_sends_as_the_scheduler_and_records_the_outcome(
    running: Running, admin: Identity, member: Identity, project_id: str, agent_id: str
) -> None:
    stub = running.stub
    with acting_as(admin):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateSchedule(_create(project_id, new_id(), 1))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND and info.value.details() == "agent not found"
        created = (await stub.CreateSchedule(_create(project_id, agent_id, 1))).schedule

    await eventually(lambda: running.agents.sent, timeout=10, interval=0.1, what="a message from the schedule")
    request, sender = running.agents.sent[0]
    assert sender == Identity(subject="scheduler", role=GlobalRole.SERVICE)
    assert request.content.string_value == "status report, please"
    assert request.correlation_id == created.id
    assert request.idempotency_key.startswith(f"project-{project_id}-schedule-{created.id}-")

    async def with_outcome() -> pb.Schedule | None:
        with acting_as(member):
            got = await stub.GetSchedule(pb.GetScheduleRequest(project_id=project_id, schedule_id=created.id))
        return got.schedule if got.schedule.last_run_outcome else None

    got = await eventually(with_outcome, timeout=5, interval=0.1, what="the run's outcome to be recorded")
    assert got.last_run_outcome.startswith("sent message ")
    assert got.HasField("last_run_time") and got.HasField("next_run_time")

    with acting_as(admin):
        removed = await stub.DeleteProjectSchedules(pb.DeleteProjectSchedulesRequest(project_id=project_id))
        listed = await stub.ListSchedules(pb.ListSchedulesRequest(project_id=project_id))
    assert removed.removed == 1 and list(listed.schedules) == []


async def test_stops_cleanly_when_asked(running: Running, admin: Identity, project_id: str) -> None:
    with acting_as(admin):
        assert list((await running.stub.ListSchedules(pb.ListSchedulesRequest(project_id=project_id))).schedules) == []


async def test_stop_during_start_up_while_temporal_is_unreachable(database_url: str, task_queue: str) -> None:
    listen = f"127.0.0.1:{free_port()}"
    settings = SchedulerSettings(
        database_url=database_url,
        scheduler_listen_addr=listen,
        temporal_address=f"127.0.0.1:{free_port()}",
        task_queue=task_queue,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    channel = create_channel(listen, ServiceKeys.local("gateway").signer)
    health = health_pb2_grpc.HealthStub(channel)

    async def not_serving() -> bool:
        if task.done():
            pytest.fail(f"serve() ended during start-up: {task}")
        try:
            answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.aio.AioRpcError:  # not listening yet
            return False
        return answer.status == health_pb2.HealthCheckResponse.NOT_SERVING

    try:
        # Up, but not ready without Temporal: the stop lands in the middle of start-up.
        await eventually(not_serving, timeout=10, interval=0.1, what="the scheduler to answer NOT_SERVING")
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        await channel.close()
