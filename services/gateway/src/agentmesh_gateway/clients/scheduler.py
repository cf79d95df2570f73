"""SchedulerService wrapper."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc

from agentmesh.scheduler.v1 import scheduler_service_pb2, scheduler_service_pb2_grpc
from agentmesh_gateway.clients.convert import from_timestamp, from_value, rpc, to_timestamp, to_value


def schedule_to_dict(schedule: scheduler_service_pb2.Schedule) -> dict[str, Any]:
    spec = schedule.spec
    trigger = spec.WhichOneof("trigger")
    return {
        "id": schedule.id,
        "project_id": schedule.project_id,
        "agent_id": schedule.agent_id,
        "cron": spec.cron if trigger == "cron" else None,
        "interval_seconds": spec.interval_seconds if trigger == "interval_seconds" else None,
        "run_at": from_timestamp(spec.run_at) if trigger == "run_at" else None,
        "timezone": spec.time_zone or "UTC",
        "payload": from_value(schedule.payload),
        "enabled": schedule.enabled,
        "temporal_schedule_id": schedule.temporal_schedule_id,
        "last_run_at": from_timestamp(schedule.last_run_time),
        "last_run_outcome": schedule.last_run_outcome or None,
        "next_run_at": from_timestamp(schedule.next_run_time),
        "created_at": from_timestamp(schedule.create_time),
    }


class SchedulerClient:
    """Typed calls on SchedulerService."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)

    async def create(self, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
        spec = scheduler_service_pb2.ScheduleSpec(time_zone=data.get("timezone") or "UTC")
        if data.get("cron") is not None:
            spec.cron = data["cron"]
        elif data.get("interval_seconds") is not None:
            spec.interval_seconds = data["interval_seconds"]
        elif isinstance(data.get("run_at"), datetime):
            spec.run_at.CopyFrom(to_timestamp(data["run_at"]))
        schedule = scheduler_service_pb2.Schedule(
            agent_id=data["agent_id"], spec=spec, payload=to_value(data.get("payload")), enabled=data["enabled"]
        )
        request = scheduler_service_pb2.CreateScheduleRequest(project_id=project_id, schedule=schedule)
        return schedule_to_dict((await rpc(self._stub.CreateSchedule(request, timeout=20))).schedule)

    async def get(self, project_id: str, schedule_id: str) -> dict[str, Any]:
        request = scheduler_service_pb2.GetScheduleRequest(project_id=project_id, schedule_id=schedule_id)
        return schedule_to_dict((await rpc(self._stub.GetSchedule(request))).schedule)

    async def list(self, project_id: str, limit: int, cursor: str) -> tuple[list[dict], str]:
        request = scheduler_service_pb2.ListSchedulesRequest(project_id=project_id, page_size=limit, page_token=cursor)
        response = await rpc(self._stub.ListSchedules(request))
        return [schedule_to_dict(s) for s in response.schedules], response.next_page_token

    async def delete(self, project_id: str, schedule_id: str) -> None:
        request = scheduler_service_pb2.DeleteScheduleRequest(project_id=project_id, schedule_id=schedule_id)
        await rpc(self._stub.DeleteSchedule(request, timeout=20))

    async def delete_project(self, project_id: str) -> None:
        request = scheduler_service_pb2.DeleteProjectSchedulesRequest(project_id=project_id)
        await rpc(self._stub.DeleteProjectSchedules(request, timeout=60))
