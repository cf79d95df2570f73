"""Projects (tenants) and their members."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from agentmesh_core.identity import ProjectRole
from agentmesh_gateway.accounts.models import Project
from agentmesh_gateway.deps import AccountsDep, AdminScope, AgentsDep, CurrentUser, MemoryDep, SchedulerDep, Scope
from agentmesh_gateway.schemas.accounts import MemberIn, MemberOut, ProjectIn, ProjectOut, ProjectPatch
from agentmesh_gateway.schemas.common import Cursor, Limit, Page

router = APIRouter(prefix="/projects", tags=["projects"])


def project_out(project: Project, role: ProjectRole | None) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        name=project.name,
        description=project.description,
        owner_id=project.owner_id,
        settings=project.settings,
        created_at=project.created_at,
        role=role.value if role else None,
    )


@router.post("", response_model=ProjectOut, status_code=status.HTTP_201_CREATED)
async def create_project(body: ProjectIn, user: CurrentUser, accounts: AccountsDep) -> ProjectOut:
    """Create a project; the creator becomes its admin."""
    project = await accounts.create_project(user, body.name, body.description, body.settings)
    return project_out(project, ProjectRole.ADMIN)


@router.get("", response_model=Page[ProjectOut])
async def list_projects(
    user: CurrentUser, accounts: AccountsDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[ProjectOut]:
    """Your projects (every project for a superadmin), oldest first, with your role in each."""
    found, after = await accounts.list_projects(user, cursor or "", limit)
    return Page(items=[project_out(project, role) for project, role in found], next_cursor=after or None)


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(scope: Scope) -> ProjectOut:
    return project_out(scope.project, scope.role)


@router.patch("/{project_id}", response_model=ProjectOut)
async def update_project(body: ProjectPatch, scope: AdminScope, accounts: AccountsDep) -> ProjectOut:
    project = await accounts.update_project(scope.project, body.model_dump(exclude_unset=True, exclude_none=True))
    return project_out(project, scope.role)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project(
    scope: AdminScope, accounts: AccountsDep, agents: AgentsDep, memory: MemoryDep, scheduler: SchedulerDep
) -> Response:
    """Delete the project and everything it owns in every service (vectors included).

    Schedules go first so nothing fires into a half-deleted project; every purge
    is idempotent, so a failed delete (503) can simply be retried.
    """
    with scope.acting():
        await scheduler.delete_project_schedules(scope.project.id)
        await agents.delete_project_data(scope.project.id)
        await memory.delete_project_memories(scope.project.id)
    await accounts.delete_project(scope.project)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{project_id}/members", response_model=Page[MemberOut])
async def list_members(
    scope: AdminScope, accounts: AccountsDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[MemberOut]:
    members, after = await accounts.list_members(scope.project, cursor or "", limit)
    items = [MemberOut(project_id=m.project_id, user_id=m.user_id, username=m.username, role=m.role.value)
             for m in members]  # fmt: skip
    return Page(items=items, next_cursor=after or None)


@router.post("/{project_id}/members", response_model=MemberOut, status_code=status.HTTP_201_CREATED)
async def add_member(body: MemberIn, scope: AdminScope, accounts: AccountsDep) -> MemberOut:
    """Add a user to the project, or change their role (a project keeps at least one admin)."""
    member, user = await accounts.put_member(scope.project, body.user_id, ProjectRole(body.role))
    return MemberOut(project_id=member.project_id, user_id=user.id, username=user.username, role=member.role.value)


@router.delete("/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(user_id: str, scope: AdminScope, accounts: AccountsDep) -> Response:
    await accounts.remove_member(scope.project, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
