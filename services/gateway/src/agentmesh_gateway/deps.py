"""Request dependencies: the caller, the project scope, and the service clients."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import parse_id
from agentmesh_gateway.access_log import record_user
from agentmesh_gateway.accounts.models import Project, User
from agentmesh_gateway.accounts.service import Accounts
from agentmesh_gateway.clients.ports import AgentsApi, MemoryApi, SchedulerApi, ToolsApi
from agentmesh_gateway.state import GatewayState
from agentmesh_grpc.identity import acting_as
from agentmesh_observability import context

# OAuth2's password flow, so that the "Authorize" button of /docs can log in.
_bearer = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False, description="Bearer JWT from POST /auth/login")


# Every dependency here is `async def`, even the ones that only read app.state: FastAPI
# runs a plain `def` dependency in a worker thread, a thread hop per dependency per request.
# The service clients and the caller's dependencies read app.state themselves rather than
# through a State dependency: FastAPI solves every node of a route's dependency tree on every
# request, cached or not (~30 us each), and these are on every route.
def wired(request: Request) -> GatewayState:
    """What the lifespan wired onto app.state."""
    return request.app.state.gateway


async def get_state(request: Request) -> GatewayState:
    return wired(request)


State = Annotated[GatewayState, Depends(get_state)]


async def get_accounts(request: Request) -> Accounts:
    return wired(request).accounts


async def get_agents(request: Request) -> AgentsApi:
    return wired(request).agents


async def get_memory(request: Request) -> MemoryApi:
    return wired(request).memory


async def get_scheduler(request: Request) -> SchedulerApi:
    return wired(request).scheduler


async def get_tools(request: Request) -> ToolsApi:
    return wired(request).tools


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
AgentsDep = Annotated[AgentsApi, Depends(get_agents)]
MemoryDep = Annotated[MemoryApi, Depends(get_memory)]
SchedulerDep = Annotated[SchedulerApi, Depends(get_scheduler)]
ToolsDep = Annotated[ToolsApi, Depends(get_tools)]


BearerToken = Annotated[str | None, Depends(_bearer)]


async def current_user(request: Request, token: BearerToken) -> User:
    """The active user a valid bearer token names; 401 for anything else."""
    if not token:
        raise Unauthenticated("missing bearer token")
    user = await wired(request).accounts.authenticate(token)
    record_user(request.scope.get("state"), user.id)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def require_superadmin(user: CurrentUser) -> User:
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
    def identity(self) -> Identity:
        """Who the services are told is calling."""
        return Identity(subject=self.user.id, role=self.user.role, project_id=self.project.id, project_role=self.role)

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        """Bind the caller for the gRPC calls made inside (and the project for logs)."""
        with acting_as(self.identity), context.bind(project_id=self.project.id):
            yield


async def project_scope(request: Request, project_id: str, user: CurrentUser) -> ProjectScope:
    """Members (and superadmins) only: anyone else gets 404, as for an unknown project."""
    project, role = await wired(request).accounts.project_for(user, project_id)
    return ProjectScope(project, user, role)


Scope = Annotated[ProjectScope, Depends(project_scope)]


async def admin_scope(scope: Scope) -> ProjectScope:
    """Writes need the project's admin role (or a superadmin): 403 for plain members."""
    if scope.user.role is not GlobalRole.SUPERADMIN and scope.role is not ProjectRole.ADMIN:
        raise PermissionDenied("project admin role required")
    return scope


AdminScope = Annotated[ProjectScope, Depends(admin_scope)]


def path_id(value: str, what: str) -> str:
    """A path id that is not a UUID names nothing: 404, as for an unknown one."""
    try:
        return parse_id(value, what)
    except InvalidInput:
        raise NotFound(f"{what} not found") from None
