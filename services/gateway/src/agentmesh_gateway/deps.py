"""Request dependencies: the authenticated user, the project scope, the clients."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import parse_id
from agentmesh_gateway.accounts.models import Project, User
from agentmesh_gateway.state import GatewayState
from agentmesh_grpc.identity import acting_as
from agentmesh_observability import context

_bearer = HTTPBearer(auto_error=False, description="JWT from POST /auth/login")


def get_state(request: Request) -> GatewayState:
    return request.app.state.gateway


State = Annotated[GatewayState, Depends(get_state)]


async def current_user(
    state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    """The user a valid bearer token names; 401 for anything else."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer token")
    claims = state.tokens.verify(credentials.credentials)
    user = await state.accounts.get_user(claims.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("invalid token")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_superadmin(user: CurrentUser) -> User:
    if user.role is not GlobalRole.SUPERADMIN:
        raise PermissionDenied("superadmin role required")
    return user


Superadmin = Annotated[User, Depends(require_superadmin)]


@dataclass(frozen=True)
class ProjectScope:
    """A project the caller may see, and the caller's role in it."""

    project: Project
    user: User
    role: ProjectRole | None  # None: a superadmin who is not a member

    @property
    def is_admin(self) -> bool:
        return self.user.role is GlobalRole.SUPERADMIN or self.role is ProjectRole.ADMIN

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("project admin role required")

    @property
    def identity(self) -> Identity:
        return Identity(subject=self.user.id, role=self.user.role, project_id=self.project.id, project_role=self.role)

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        """Bind the caller for the gRPC calls made inside (and for logs)."""
        with acting_as(self.identity), context.bind(project_id=self.project.id):
            yield


async def project_scope(state: State, user: CurrentUser, project_id: Annotated[str, Path()]) -> ProjectScope:
    """404 for unknown projects and for projects the caller is not a member of."""
    try:
        project_id = parse_id(project_id, "project id")
    except InvalidInput:  # a malformed id is just an unknown project
        raise NotFound("project not found") from None
    project = await state.accounts.get_project(project_id)
    if project is None:
        raise NotFound("project not found")
    role = await state.accounts.membership(project_id, user.id)
    if role is None and user.role is not GlobalRole.SUPERADMIN:
        raise NotFound("project not found")
    return ProjectScope(project, user, role)


Scope = Annotated[ProjectScope, Depends(project_scope)]


async def admin_scope(scope: Scope) -> ProjectScope:
    scope.require_admin()
    return scope


AdminScope = Annotated[ProjectScope, Depends(admin_scope)]


def path_id(value: str, what: str) -> str:
    """A path id that is not a UUID names nothing: 404."""
    try:
        return parse_id(value, what)
    except InvalidInput:
        raise NotFound(f"{what} not found") from None
