"""Who is calling, and what that caller may do in a project.

Every internal call carries an Identity (signed, see tokens.py). Services call
`project_in_scope` (or `require_project_access`) themselves, so that project
isolation does not rest on the gateway alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agentmesh_core.errors import NotFound, PermissionDenied
from agentmesh_core.ids import parse_id


class GlobalRole(StrEnum):
    """A user's platform-wide role; SERVICE is a platform component (scheduler)."""

    SUPERADMIN = "superadmin"
    USER = "user"
    SERVICE = "service"


class ProjectRole(StrEnum):
    """A member's role inside one project."""

    ADMIN = "admin"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller of an internal request.

    project_id/project_role describe the one project this call is scoped to,
    as established by whoever authenticated the user (the gateway).
    """

    subject: str
    role: GlobalRole
    project_id: str | None = None
    project_role: ProjectRole | None = None

    @property
    def is_privileged(self) -> bool:
        """Superadmins and platform services see every project."""
        return self.role in (GlobalRole.SUPERADMIN, GlobalRole.SERVICE)


def require_project_access(identity: Identity, project_id: str, *, admin: bool = False) -> None:
    """Allow the call only inside the identity's project (and as admin when asked).

    Non-members get NotFound, not PermissionDenied: a project that is not
    yours must look like a project that does not exist.
    """
    if identity.is_privileged:
        return
    if not project_id or identity.project_id != project_id or identity.project_role is None:
        raise NotFound("project not found")
    if admin and identity.project_role is not ProjectRole.ADMIN:
        raise PermissionDenied("project admin role required")


def project_in_scope(identity: Identity, project_id: str, *, admin: bool = False) -> str:
    """The canonical project id, once the caller may act in the project (as admin when asked).

    A malformed id is InvalidInput. Then a project the caller is not in is NotFound,
    like one that does not exist, before anything else about the request is looked at.
    """
    project_id = parse_id(project_id, "project_id")
    require_project_access(identity, project_id, admin=admin)
    return project_id
