"""SchedulerService wrapper: HTTP schemas <-> protos, deadlines, errors."""

from __future__ import annotations

import grpc

from agentmesh.scheduler.v1 import scheduler_service_pb2, scheduler_service_pb2_grpc
from agentmesh_gateway.clients.convert import (
    READ_TIMEOUT,
    SLOW_TIMEOUT,
    WRITE_TIMEOUT,
    from_timestamp,
    from_value,
    rpc,
    to_timestamp,
    to_value,
)
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.schedules import ScheduleIn, ScheduleOut

_SERVICE = "scheduler"


def schedule_out(schedule: scheduler_service_pb2.Schedule) -> ScheduleOut:
    spec = schedule.spec
    trigger = spec.WhichOneof("trigger")
    return ScheduleOut(
        id=schedule.id,
        project_id=schedule.project_id,
        agent_id=schedule.agent_id,
        cron=spec.cron if trigger == "cron" else None,
        interval_seconds=spec.interval_seconds if trigger == "interval_seconds" else None,
        run_at=from_timestamp(spec.run_at) if trigger == "run_at" else None,
        timezone=spec.time_zone or "UTC",
        payload=from_value(schedule.payload),
        enabled=schedule.enabled,
        temporal_schedule_id=schedule.temporal_schedule_id,
        last_run_at=from_timestamp(schedule.last_run_time),
        last_run_outcome=schedule.last_run_outcome or None,
        next_run_at=from_timestamp(schedule.next_run_time),
        created_at=from_timestamp(schedule.create_time),
    )


def schedule_proto(schedule: ScheduleIn) -> scheduler_service_pb2.Schedule:
    spec = scheduler_service_pb2.ScheduleSpec(time_zone=schedule.timezone)
    if schedule.cron is not None:
        spec.cron = schedule.cron
    elif schedule.interval_seconds is not None:
        spec.interval_seconds = schedule.interval_seconds
    elif schedule.run_at is not None:
        spec.run_at.CopyFrom(to_timestamp(schedule.run_at))
    return scheduler_service_pb2.Schedule(
        agent_id=str(schedule.agent_id), spec=spec, payload=to_value(schedule.payload), enabled=schedule.enabled
    )


class SchedulerClient:
    """SchedulerApi over gRPC."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)

    async def create_schedule(self, project_id: str, schedule: ScheduleIn) -> ScheduleOut:
        request = scheduler_service_pb2.CreateScheduleRequest(project_id=project_id, schedule=schedule_proto(schedule))
        return schedule_out((await rpc(_SERVICE, self._stub.CreateSchedule(request, timeout=WRITE_TIMEOUT))).schedule)

    async def get_schedule(self, project_id: str, schedule_id: str) -> ScheduleOut:
        request = scheduler_service_pb2.GetScheduleRequest(project_id=project_id, schedule_id=schedule_id)
        return schedule_out((await rpc(_SERVICE, self._stub.GetSchedule(request, timeout=READ_TIMEOUT))).schedule)

    async def list_schedules(self, project_id: str, limit: int, cursor: str) -> Page[ScheduleOut]:
        request = scheduler_service_pb2.ListSchedulesRequest(project_id=project_id, page_size=limit, page_token=cursor)
        response = await rpc(_SERVICE, self._stub.ListSchedules(request, timeout=READ_TIMEOUT))
        return Page(items=[schedule_out(s) for s in response.schedules], next_cursor=response.next_page_token or None)

    async def delete_schedule(self, project_id: str, schedule_id: str) -> None:
        request = scheduler_service_pb2.DeleteScheduleRequest(project_id=project_id, schedule_id=schedule_id)
        await rpc(_SERVICE, self._stub.DeleteSchedule(request, timeout=WRITE_TIMEOUT))

    async def delete_project_schedules(self, project_id: str) -> None:
        request = scheduler_service_pb2.DeleteProjectSchedulesRequest(project_id=project_id)
        await rpc(_SERVICE, self._stub.DeleteProjectSchedules(request, timeout=SLOW_TIMEOUT))
