"""SchedulerService wrapper: HTTP schemas <-> protos, deadlines, errors (job conversions in jobs.py)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import grpc
from google.protobuf import duration_pb2, field_mask_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2, scheduler_service_pb2_grpc
from agentmesh_gateway.clients.convert import (
    READ_TIMEOUT,
    SLOW_TIMEOUT,
    WRITE_TIMEOUT,
    enum_name,
    enum_number,
    from_timestamp,
    from_value,
    rpc,
    to_value,
)
from agentmesh_gateway.clients.jobs import create_request, job_out, retry_out, status_number, step_proto, timeout_s
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.jobs import JobIn, JobOut
from agentmesh_gateway.schemas.schedules import (
    OverlapPolicy,
    ScheduleIn,
    ScheduleJobIn,
    ScheduleJobOut,
    ScheduleOut,
    SchedulePatch,
    ScheduleRunOut,
    ScheduleStepOut,
)
from agentmesh_grpc.well_known import timestamp_proto

_SERVICE = "scheduler"
_OVERLAP = "OVERLAP_POLICY_"
# PATCH fields -> UpdateSchedule's update_mask paths.
_MASK = {
    "cron": "spec.cron",
    "interval_seconds": "spec.interval_seconds",
    "run_at": "spec.run_at",
    "timezone": "spec.time_zone",
    "payload": "payload",
    "enabled": "enabled",
    "overlap_policy": "policy.overlap",
    "catchup_window_seconds": "policy.catchup_window",
    "job": "job",
}


def _job_proto(job: ScheduleJobIn) -> scheduler_service_pb2.ScheduleJob:
    return scheduler_service_pb2.ScheduleJob(name=job.name, steps=[step_proto(step) for step in job.steps])


def _job_out(schedule: scheduler_service_pb2.Schedule) -> ScheduleJobOut | None:
    if not schedule.HasField("job"):
        return None
    steps = [
        ScheduleStepOut(
            id=spec.id,
            agent_id=spec.agent_id,
            input=from_value(spec.input),
            depends_on=list(spec.depends_on),
            retry=retry_out(spec),
            timeout_s=timeout_s(spec),
        )
        for spec in schedule.job.steps
    ]
    return ScheduleJobOut(name=schedule.job.name, steps=steps)


def schedule_out(schedule: scheduler_service_pb2.Schedule) -> ScheduleOut:
    spec = schedule.spec
    trigger = spec.WhichOneof("trigger")
    return ScheduleOut(
        id=schedule.id,
        project_id=schedule.project_id,
        agent_id=schedule.agent_id or None,
        cron=spec.cron if trigger == "cron" else None,
        interval_seconds=spec.interval_seconds if trigger == "interval_seconds" else None,
        run_at=from_timestamp(spec.run_at) if trigger == "run_at" else None,
        timezone=spec.time_zone or "UTC",
        payload=from_value(schedule.payload),
        job=_job_out(schedule),
        enabled=schedule.enabled,
        temporal_schedule_id=schedule.temporal_schedule_id,
        last_run_at=from_timestamp(schedule.last_run_time),
        last_run_outcome=schedule.last_run_outcome or None,
        next_run_at=from_timestamp(schedule.next_run_time),
        created_at=from_timestamp(schedule.create_time),
        overlap_policy=_overlap_name(schedule.policy.overlap),
        catchup_window_seconds=schedule.policy.catchup_window.seconds,
        next_runs=[moment for t in schedule.next_run_times if (moment := from_timestamp(t)) is not None],
        recent_runs=[
            ScheduleRunOut(ran_at=ran_at, outcome=r.outcome)
            for r in schedule.recent_runs
            if (ran_at := from_timestamp(r.run_time)) is not None
        ],
    )


def _overlap_name(number: scheduler_service_pb2.OverlapPolicy.ValueType) -> OverlapPolicy:
    """The policy's name; SKIP (the scheduler's default) when unspecified."""
    if not number:
        return "skip"
    return cast(OverlapPolicy, enum_name(scheduler_service_pb2.OverlapPolicy, number, _OVERLAP))


def _spec(
    cron: str | None, interval_seconds: int | None, run_at: datetime | None, timezone: str | None
) -> scheduler_service_pb2.ScheduleSpec:
    spec = scheduler_service_pb2.ScheduleSpec(time_zone=timezone or "")
    if cron is not None:
        spec.cron = cron
    elif interval_seconds is not None:
        spec.interval_seconds = interval_seconds
    elif run_at is not None:
        spec.run_at.CopyFrom(timestamp_proto(run_at))
    return spec


def _policy(overlap: str | None, catchup_seconds: int | None) -> scheduler_service_pb2.SchedulePolicy:
    policy = scheduler_service_pb2.SchedulePolicy()
    if overlap is not None:
        policy.overlap = enum_number(scheduler_service_pb2.OverlapPolicy, overlap, _OVERLAP)
    if catchup_seconds is not None:
        policy.catchup_window.CopyFrom(duration_pb2.Duration(seconds=catchup_seconds))
    return policy


def schedule_proto(schedule: ScheduleIn) -> scheduler_service_pb2.Schedule:
    message = scheduler_service_pb2.Schedule(
        agent_id=str(schedule.agent_id) if schedule.agent_id is not None else "",
        spec=_spec(schedule.cron, schedule.interval_seconds, schedule.run_at, schedule.timezone),
        enabled=schedule.enabled,
        policy=_policy(schedule.overlap_policy, schedule.catchup_window_seconds),
    )
    if schedule.job is not None:
        message.job.CopyFrom(_job_proto(schedule.job))
    else:
        message.payload.CopyFrom(to_value(schedule.payload))
    return message


def update_request(
    project_id: str, schedule_id: str, patch: SchedulePatch
) -> scheduler_service_pb2.UpdateScheduleRequest:
    """The PATCH as UpdateSchedule: the given fields, named in the update mask."""
    changed = patch.changed()
    schedule = scheduler_service_pb2.Schedule(
        spec=_spec(patch.cron, patch.interval_seconds, patch.run_at, patch.timezone),
        enabled=bool(patch.enabled),
        policy=_policy(patch.overlap_policy, patch.catchup_window_seconds),
    )
    if "payload" in changed:
        schedule.payload.CopyFrom(to_value(patch.payload))
    if patch.job is not None:
        schedule.job.CopyFrom(_job_proto(patch.job))
    return scheduler_service_pb2.UpdateScheduleRequest(
        project_id=project_id,
        schedule_id=schedule_id,
        schedule=schedule,
        update_mask=field_mask_pb2.FieldMask(paths=sorted(_MASK[name] for name in changed)),
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

    async def update_schedule(self, project_id: str, schedule_id: str, patch: SchedulePatch) -> ScheduleOut:
        request = update_request(project_id, schedule_id, patch)
        return schedule_out((await rpc(_SERVICE, self._stub.UpdateSchedule(request, timeout=WRITE_TIMEOUT))).schedule)

    async def trigger_schedule(self, project_id: str, schedule_id: str) -> ScheduleOut:
        request = scheduler_service_pb2.TriggerScheduleRequest(project_id=project_id, schedule_id=schedule_id)
        return schedule_out((await rpc(_SERVICE, self._stub.TriggerSchedule(request, timeout=WRITE_TIMEOUT))).schedule)

    async def delete_schedule(self, project_id: str, schedule_id: str) -> None:
        request = scheduler_service_pb2.DeleteScheduleRequest(project_id=project_id, schedule_id=schedule_id)
        await rpc(_SERVICE, self._stub.DeleteSchedule(request, timeout=WRITE_TIMEOUT))

    async def delete_project_schedules(self, project_id: str) -> None:
        request = scheduler_service_pb2.DeleteProjectSchedulesRequest(project_id=project_id)
        await rpc(_SERVICE, self._stub.DeleteProjectSchedules(request, timeout=SLOW_TIMEOUT))

    async def create_job(self, project_id: str, job: JobIn) -> JobOut:
        request = create_request(project_id, job)
        return job_out((await rpc(_SERVICE, self._stub.CreateJob(request, timeout=WRITE_TIMEOUT))).job)

    async def get_job(self, project_id: str, job_id: str) -> JobOut:
        request = scheduler_service_pb2.GetJobRequest(project_id=project_id, job_id=job_id)
        return job_out((await rpc(_SERVICE, self._stub.GetJob(request, timeout=READ_TIMEOUT))).job)

    async def list_jobs(self, project_id: str, status: str | None, limit: int, cursor: str) -> Page[JobOut]:
        request = scheduler_service_pb2.ListJobsRequest(
            project_id=project_id, status=status_number(status), page_size=limit, page_token=cursor
        )
        response = await rpc(_SERVICE, self._stub.ListJobs(request, timeout=READ_TIMEOUT))
        return Page(items=[job_out(job) for job in response.jobs], next_cursor=response.next_page_token or None)

    async def cancel_job(self, project_id: str, job_id: str) -> JobOut:
        request = scheduler_service_pb2.CancelJobRequest(project_id=project_id, job_id=job_id)
        return job_out((await rpc(_SERVICE, self._stub.CancelJob(request, timeout=WRITE_TIMEOUT))).job)
