"""Schedules of a project (Temporal Schedules behind the scheduler service)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from agentmesh_gateway.deps import AdminScope, SchedulerDep, Scope, path_id
from agentmesh_gateway.schemas.common import Cursor, Limit, Page
from agentmesh_gateway.schemas.schedules import ScheduleIn, ScheduleOut, SchedulePatch

router = APIRouter(prefix="/projects/{project_id}/schedules", tags=["schedules"])


@router.post("", response_model=ScheduleOut, status_code=status.HTTP_201_CREATED)
async def create_schedule(body: ScheduleIn, scope: AdminScope, scheduler: SchedulerDep) -> ScheduleOut:
    """Send `payload` to the agent on a cron (in `timezone`), every `interval_seconds`, or once at `run_at`."""
    with scope.acting():
        return await scheduler.create_schedule(scope.project.id, body)


@router.get("", response_model=Page[ScheduleOut])
async def list_schedules(
    scope: Scope, scheduler: SchedulerDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[ScheduleOut]:
    with scope.acting():
        return await scheduler.list_schedules(scope.project.id, limit, cursor or "")


@router.get("/{schedule_id}", response_model=ScheduleOut)
async def get_schedule(schedule_id: str, scope: Scope, scheduler: SchedulerDep) -> ScheduleOut:
    with scope.acting():
        return await scheduler.get_schedule(scope.project.id, path_id(schedule_id, "schedule"))


@router.patch("/{schedule_id}", response_model=ScheduleOut)
async def update_schedule(
    schedule_id: str, body: SchedulePatch, scope: AdminScope, scheduler: SchedulerDep
) -> ScheduleOut:
    """Change the fields given (the others stay); `enabled` pauses or resumes the Temporal Schedule."""
    with scope.acting():
        return await scheduler.update_schedule(scope.project.id, path_id(schedule_id, "schedule"), body)


@router.post("/{schedule_id}/trigger", response_model=ScheduleOut, status_code=status.HTTP_202_ACCEPTED)
async def trigger_schedule(schedule_id: str, scope: AdminScope, scheduler: SchedulerDep) -> ScheduleOut:
    """Run the schedule now, once (even when disabled); the run joins `recent_runs` when done."""
    with scope.acting():
        return await scheduler.trigger_schedule(scope.project.id, path_id(schedule_id, "schedule"))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(schedule_id: str, scope: AdminScope, scheduler: SchedulerDep) -> Response:
    with scope.acting():
        await scheduler.delete_schedule(scope.project.id, path_id(schedule_id, "schedule"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
