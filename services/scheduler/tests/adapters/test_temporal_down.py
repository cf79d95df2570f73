"""With Temporal down, schedule calls answer within 2 s (503 at the gateway); they work again once it is back.

The SDK retries a call that cannot reach Temporal for up to 10 s by default (and the
gateway waited 15 s); the scheduler's own client gives up after
AGENTMESH_TEMPORAL_RETRY_SECONDS. This test runs its own Temporal dev server and
stops it (SIGKILL) under a running scheduler.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2

from agentmesh.agents.v1 import agent_service_pb2_grpc
from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import Identity
from agentmesh_devstack.infra import TemporalDevServer
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_scheduler.main import serve
from agentmesh_scheduler.settings import SchedulerSettings

from .test_main import FakeAgentService

pytestmark = pytest.mark.slow

ANSWER_WITHIN = 2.0


def _create(project_id: str, agent_id: str) -> pb.CreateScheduleRequest:
    return pb.CreateScheduleRequest(
        project_id=project_id,
        schedule=pb.Schedule(
            agent_id=agent_id,
            spec=pb.ScheduleSpec(interval_seconds=3600),
            payload=struct_pb2.Value(string_value="report"),
            enabled=True,
        ),
    )


async def _timed(call) -> tuple[float, grpc.StatusCode]:
    started = time.perf_counter()
    try:
        await call
        code = grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        code = error.code()
    return time.perf_counter() - started, code


async def test_schedule_calls_answer_fast_while_temporal_is_down(
    database_url: str, task_queue: str, tmp_path: Path, admin: Identity, project_id: str, agent_id: str
) -> None:
    temporal = TemporalDevServer(
        "127.0.0.1", free_port(), free_port(), tmp_path / "temporal.db", tmp_path, headless=True
    )
    temporal.start()
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
        temporal_address=temporal.address,
        task_queue=task_queue,
        agents_service_addr=f"127.0.0.1:{agents_server.port}",
        shutdown_grace_seconds=1,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    channel = create_channel(settings.scheduler_listen_addr, ServiceKeys.local("gateway").signer)
    stub = pb_grpc.SchedulerServiceStub(channel)
    try:
        await eventually(lambda: check_health(channel), timeout=60, interval=0.2, what="the scheduler to be SERVING")
        with acting_as(admin):
            created = (await stub.CreateSchedule(_create(project_id, agent_id))).schedule

        assert temporal.process is not None
        temporal.process.stop(grace=0, sig=signal.SIGKILL)
        ref = {"project_id": project_id, "schedule_id": created.id}
        with acting_as(admin):
            answers = {
                "create": await _timed(stub.CreateSchedule(_create(project_id, agent_id))),
                "trigger": await _timed(stub.TriggerSchedule(pb.TriggerScheduleRequest(**ref))),
                "get": await _timed(stub.GetSchedule(pb.GetScheduleRequest(**ref))),
                "list": await _timed(stub.ListSchedules(pb.ListSchedulesRequest(project_id=project_id))),
                "delete": await _timed(stub.DeleteSchedule(pb.DeleteScheduleRequest(**ref))),
            }
        print(f"\nwith Temporal down: { {name: (round(s, 2), c.name) for name, (s, c) in answers.items()} }")
        assert {name: s for name, (s, _) in answers.items() if s >= ANSWER_WITHIN} == {}
        assert answers["create"][1] == answers["trigger"][1] == grpc.StatusCode.UNAVAILABLE
        assert all(code in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE) for _, code in answers.values())
        assert not task.done()  # the service stays up, waiting for Temporal to come back

        temporal.start()  # the same database file: the schedule made before is still there

        async def created_again() -> bool:
            with acting_as(admin):
                return (await _timed(stub.CreateSchedule(_create(project_id, agent_id))))[1] == grpc.StatusCode.OK

        await eventually(created_again, timeout=60, interval=0.5, what="schedule calls to work once Temporal is back")
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
        await channel.close()
        await agents_server.stop(0)
        temporal.stop()
