"""Projects (tenants) and their members."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status

from agentmesh_core.errors import NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, ProjectRole
from agentmesh_core.pagination import decode_cursor, next_cursor
from agentmesh_gateway.accounts.models import Project
from agentmesh_gateway.deps import AdminScope, CurrentUser, Scope, State, path_id
from agentmesh_gateway.schemas.accounts import MemberIn, MemberOut, ProjectIn, ProjectOut, ProjectPatch
from agentmesh_gateway.schemas.common import Cursor, Limit, Page

log = logging.getLogger(__name__)
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
async def create_project(body: ProjectIn, user: CurrentUser, state: State) -> ProjectOut:
    """Create a project; the creator becomes its admin."""
    if user.role is not GlobalRole.SUPERADMIN and not state.settings.allow_user_projects:
        raise PermissionDenied("only a superadmin may create projects")
    project = await state.accounts.create_project(body.name, body.description, body.settings, user.id)
    return project_out(project, ProjectRole.ADMIN)


@router.get("", response_model=Page[ProjectOut])
async def list_projects(user: CurrentUser, state: State, limit: Limit = 50, cursor: Cursor = None) -> Page[ProjectOut]:
    """Your projects (every project for a superadmin)."""
    offset = decode_cursor(cursor or "")
    member_of = None if user.role is GlobalRole.SUPERADMIN else user.id
    projects = await state.accounts.list_projects(member_of, offset, limit)
    roles = {m.project_id: m.role for m in await state.accounts.memberships_of(user.id)}
    return Page(
        items=[project_out(p, roles.get(p.id)) for p in projects],
        next_cursor=next_cursor(offset, len(projects), limit) or None,
    )


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(scope: Scope) -> ProjectOut:
    return project_out(scope.project, scope.role)


@router.patch("/{project_id}", response_model=ProjectOut)
async def update_project(body: ProjectPatch, scope: AdminScope, state: State) -> ProjectOut:
    values = body.model_dump(exclude_unset=True, exclude_none=True)
    project = await state.accounts.update_project(scope.project.id, values) if values else scope.project
    if project is None:
        raise NotFound("project not found")
    return project_out(project, scope.role)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project(scope: AdminScope, state: State) -> Response:
    """Delete the project and everything it owns in every service (vectors included)."""
    with scope.acting():
        await state.scheduler.delete_project(scope.project.id)
        await state.agents.delete_project_data(scope.project.id)
        await state.memory.delete_project(scope.project.id)
    await state.accounts.delete_project(scope.project.id)
    log.info("deleted project %s", scope.project.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{project_id}/members", response_model=Page[MemberOut])
async def list_members(scope: AdminScope, state: State, limit: Limit = 50, cursor: Cursor = None) -> Page[MemberOut]:
    offset = decode_cursor(cursor or "")
    members = await state.accounts.list_members(scope.project.id, offset, limit)
    items = [MemberOut(project_id=m.project_id, user_id=m.user_id, username=m.username, role=m.role.value)
             for m in members]  # fmt: skip
    return Page(items=items, next_cursor=next_cursor(offset, len(members), limit) or None)


@router.post("/{project_id}/members", response_model=MemberOut, status_code=status.HTTP_201_CREATED)
async def add_member(body: MemberIn, scope: AdminScope, state: State) -> MemberOut:
    """Add a user to the project, or change their role."""
    user = await state.accounts.get_user(path_id(body.user_id, "user"))
    if user is None:
        raise NotFound("user not found")
    member = await state.accounts.put_member(scope.project.id, user.id, ProjectRole(body.role))
    return MemberOut(project_id=member.project_id, user_id=user.id, username=user.username, role=member.role.value)


@router.delete("/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(user_id: str, scope: AdminScope, state: State) -> Response:
    if not await state.accounts.remove_member(scope.project.id, path_id(user_id, "member")):
        raise NotFound("member not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
