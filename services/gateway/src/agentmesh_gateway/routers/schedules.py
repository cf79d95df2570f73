"""Schedules of a project (Temporal Schedules behind the scheduler service)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from agentmesh_core.pagination import decode_cursor
from agentmesh_gateway.deps import AdminScope, Scope, State, path_id
from agentmesh_gateway.schemas.common import Cursor, Limit, Page, page
from agentmesh_gateway.schemas.schedules import ScheduleIn, ScheduleOut

router = APIRouter(prefix="/projects/{project_id}/schedules", tags=["schedules"])


@router.post("", response_model=ScheduleOut, status_code=status.HTTP_201_CREATED)
async def create_schedule(body: ScheduleIn, scope: AdminScope, state: State) -> dict:
    data = {**body.model_dump(), "agent_id": str(body.agent_id)}
    with scope.acting():
        return await state.scheduler.create(scope.project.id, data)


@router.get("", response_model=Page[ScheduleOut])
async def list_schedules(scope: Scope, state: State, limit: Limit = 50, cursor: Cursor = None) -> dict:
    decode_cursor(cursor or "")
    with scope.acting():
        return page(*await state.scheduler.list(scope.project.id, limit, cursor or ""))


@router.get("/{schedule_id}", response_model=ScheduleOut)
async def get_schedule(schedule_id: str, scope: Scope, state: State) -> dict:
    with scope.acting():
        return await state.scheduler.get(scope.project.id, path_id(schedule_id, "schedule"))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(schedule_id: str, scope: AdminScope, state: State) -> Response:
    with scope.acting():
        await state.scheduler.delete(scope.project.id, path_id(schedule_id, "schedule"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
