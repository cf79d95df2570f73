"""What the accounts logic needs from storage (adapters.accounts_repository implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from agentmesh_core.identity import GlobalRole, ProjectRole
from agentmesh_gateway.accounts.models import Membership, Project, Rotation, User


class AccountsStore(Protocol):
    """Users, projects and memberships; each call is one transaction."""

    async def count_users(self) -> int: ...

    async def create_user(self, username: str, password_hash: str, role: GlobalRole) -> User:
        """Raises AlreadyExists when the username is taken."""
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None: ...

    async def list_users(self, after: tuple[datetime, str] | None, limit: int) -> list[User]:
        """Users by (created_at, id), after that key when one is given."""
        ...

    async def update_user(self, user_id: str, values: dict[str, Any], end_sessions: bool = False) -> User | None:
        """Change a user; with end_sessions, revoke every session of theirs in the same transaction."""
        ...

    async def record_login(self, user_id: str) -> None: ...

    async def create_project(self, name: str, description: str, settings: dict[str, Any], owner_id: str) -> Project:
        """Creates the project and makes owner_id its admin, atomically."""
        ...

    async def project_with_role(self, project_id: str, user_id: str) -> tuple[Project, ProjectRole | None] | None:
        """The project and user_id's role in it (None: not a member), in one round trip; None: no project."""
        ...

    async def list_projects(self, user_id: str | None, after: tuple[datetime, str] | None, limit: int) -> list[Project]:
        """Projects (user_id's, or all when None) by (created_at, id), after that key when one is given."""
        ...

    async def update_project(self, project_id: str, values: dict[str, Any]) -> Project | None: ...

    async def delete_project(self, project_id: str) -> None: ...

    async def membership(self, project_id: str, user_id: str) -> ProjectRole | None: ...

    async def count_admins(self, project_id: str) -> int: ...

    async def list_members(self, project_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Membership]:
        """Members by (joined_at, user_id), after that key when one is given."""
        ...

    async def memberships_of(self, user_id: str) -> list[Membership]: ...

    async def put_member(self, project_id: str, user_id: str, role: ProjectRole) -> Membership: ...

    async def remove_member(self, project_id: str, user_id: str) -> bool: ...


class SessionStore(Protocol):
    """Login sessions and their refresh tokens (stored as hashes); each call is one transaction."""

    async def start(self, user_id: str, refresh_hash: str, expires_at: datetime) -> str:
        """A new session with its first refresh token; returns the session id."""
        ...

    async def rotate(self, old_hash: str, new_hash: str, now: datetime, expires_at: datetime) -> Rotation:
        """Exchange an unused refresh token of a live session for new_hash; a used one revokes its session."""
        ...

    async def user_in_session(self, user_id: str, session_id: str) -> tuple[User, bool] | None:
        """The user and whether the session is live (not revoked); None when either is unknown."""
        ...

    async def end(self, user_id: str, session_id: str) -> None:
        """Revoke one session of the user."""
        ...

    async def end_all(self, user_id: str) -> int:
        """Revoke every live session of the user; returns how many."""
        ...
