"""Accounts use cases: login, users, projects, memberships and who may see what.

No HTTP, gRPC or SQL here: routers call these methods, the store persists.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from agentmesh_core import pagination
from agentmesh_core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from agentmesh_core.identity import GlobalRole, ProjectRole
from agentmesh_core.ids import parse_id
from agentmesh_core.tokens import AccessTokens
from agentmesh_gateway.accounts.login_throttle import LoginThrottle
from agentmesh_gateway.accounts.models import Membership, Project, RotationOutcome, SessionTokens, User
from agentmesh_gateway.accounts.passwords import Passwords
from agentmesh_gateway.accounts.ports import AccountsStore, SessionStore
from agentmesh_gateway.accounts.verified_tokens import VerifiedTokens

log = logging.getLogger(__name__)


def _known_id(value: str, what: str) -> str:
    """A malformed id names nothing: NotFound, like an unknown one."""
    try:
        return parse_id(value, what)
    except InvalidInput:
        raise NotFound(f"{what} not found") from None


def _refresh_hash(token: str) -> str:
    # Refresh tokens are 256 random bits: a plain digest is enough to keep them out of the table.
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """The gateway's own data and rules (RBAC lives here, services check again)."""

    def __init__(
        self,
        store: AccountsStore,
        tokens: AccessTokens,
        allow_user_projects: bool = True,
        *,
        sessions: SessionStore | None = None,
        passwords: Passwords | None = None,
        throttle: LoginThrottle | None = None,
        refresh_ttl_seconds: int = 14 * 24 * 3600,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self._verified = VerifiedTokens(tokens)
        self.allow_user_projects = allow_user_projects
        self._sessions = sessions
        self.passwords = passwords or Passwords()
        self._throttle = throttle
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)

    @property
    def sessions(self) -> SessionStore:
        if self._sessions is None:  # only the create-admin command runs without sessions
            raise RuntimeError("accounts wired without a session store")
        return self._sessions

    # authentication

    async def login(self, username: str, password: str, address: str = "") -> SessionTokens:
        """Tokens for valid credentials of an active user; throttled per account and address."""
        self.passwords.check_room()  # a full hasher refuses before the throttle counts or the database is asked
        if self._throttle:
            self._throttle.admit(username, address)  # ResourceExhausted: 429 with Retry-After
        user = await self.store.get_user_by_username(username)
        valid = await self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            if self._throttle:
                self._throttle.failed(address)
            log.info("failed login for %r", username)
            raise Unauthenticated("invalid username or password")
        if self._throttle:
            self._throttle.succeeded(username)
        await self.store.record_login(user.id)
        refresh = secrets.token_urlsafe(32)
        session_id = await self.sessions.start(user.id, _refresh_hash(refresh), datetime.now(UTC) + self._refresh_ttl)
        return SessionTokens(self.tokens.issue(user.id, user.role, session_id), refresh, self.tokens.ttl_seconds)

    async def refresh(self, refresh_token: str) -> SessionTokens:
        """New tokens for an unused refresh token; presenting a used one revokes its whole session."""
        new = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        rotation = await self.sessions.rotate(
            _refresh_hash(refresh_token), _refresh_hash(new), now, now + self._refresh_ttl
        )
        if rotation.outcome is RotationOutcome.REUSED:
            log.warning("a used refresh token was presented again: session %s revoked", rotation.session_id)
        user = rotation.user
        if rotation.outcome is not RotationOutcome.ROTATED or user is None or not user.is_active:
            raise Unauthenticated("invalid refresh token")
        return SessionTokens(self.tokens.issue(user.id, user.role, rotation.session_id), new, self.tokens.ttl_seconds)

    async def authenticate(self, token: str) -> User:
        """The active user a valid token of a live session names; Unauthenticated otherwise."""
        claims = self._verified.verify(token)
        try:
            user_id = parse_id(claims.user_id, "subject")
            session_id = parse_id(claims.session_id, "session")
        except InvalidInput:  # a token naming no UUID names no user
            raise Unauthenticated("invalid token") from None
        found = await self.sessions.user_in_session(user_id, session_id)
        if found is None or not found[0].is_active:
            raise Unauthenticated("invalid token")
        user, live = found
        if not live:
            raise Unauthenticated("token revoked")
        return user

    async def logout(self, token: str, everywhere: bool = False) -> None:
        """Revoke the token's session (every session of its user, with everywhere)."""
        user = await self.authenticate(token)
        if everywhere:
            await self.sessions.end_all(user.id)
        else:
            await self.sessions.end(user.id, self.session_of(token))

    def session_of(self, token: str) -> str:
        """The login session of a token that authenticated (its verification remembered)."""
        return self._verified.verify(token).session_id

    # users

    async def bootstrap_admin(self, username: str, password: str) -> bool:
        """Create a superadmin when no user exists yet; True when one was made."""
        if await self.store.count_users() > 0:
            return False
        try:
            await self.store.create_user(username, await self.passwords.hash(password), GlobalRole.SUPERADMIN)
        except AlreadyExists:  # another replica won the race
            return False
        log.warning("no user existed: created the bootstrap superadmin %r", username)
        return True

    async def create_user(self, username: str, password: str, role: GlobalRole) -> User:
        return await self.store.create_user(username, await self.passwords.hash(password), role)

    async def list_users(self, cursor: str, limit: int) -> tuple[list[User], str]:
        """A page of every account, oldest first, and the cursor after it ("" after the last)."""
        found = await self.store.list_users(pagination.decode_time_key(cursor), limit)
        return found, pagination.next_time_key(found, limit, lambda user: (user.created_at, user.id))

    async def update_user(
        self, actor: User, user_id: str, *, password: str | None, role: GlobalRole | None, is_active: bool | None
    ) -> User:
        """Change a password, role or active flag; a superadmin cannot lock themselves out.

        A new password or a deactivation revokes every session of the user: the
        tokens issued before stop working at once.
        """
        user_id = _known_id(user_id, "user")
        if user_id == actor.id and (is_active is False or role is GlobalRole.USER):
            raise FailedPrecondition("you cannot deactivate or demote yourself")
        values: dict[str, Any] = {}
        if password is not None:
            values["password_hash"] = await self.passwords.hash(password)
        if role is not None:
            values["role"] = role.value
        if is_active is not None:
            values["is_active"] = is_active
        end_sessions = password is not None or is_active is False
        user = await (self.store.update_user(user_id, values, end_sessions) if values else self.store.get_user(user_id))
        if user is None:
            raise NotFound("user not found")
        return user

    async def memberships_of(self, user: User) -> list[Membership]:
        return await self.store.memberships_of(user.id)

    # projects

    async def create_project(self, user: User, name: str, description: str, settings: dict[str, Any]) -> Project:
        """The creator becomes the project's admin."""
        if user.role is not GlobalRole.SUPERADMIN and not self.allow_user_projects:
            raise PermissionDenied("only a superadmin may create projects")
        return await self.store.create_project(name, description, settings, user.id)

    async def project_for(self, user: User, project_id: str) -> tuple[Project, ProjectRole | None]:
        """The project and the user's role in it; NotFound unless a member (or superadmin)."""
        project_id = _known_id(project_id, "project")
        found = await self.store.project_with_role(project_id, user.id)
        if found is None or (found[1] is None and user.role is not GlobalRole.SUPERADMIN):
            raise NotFound("project not found")
        return found

    async def list_projects(
        self, user: User, cursor: str, limit: int
    ) -> tuple[list[tuple[Project, ProjectRole | None]], str]:
        """A page of the user's projects (every one for a superadmin) with their role in each, oldest first.

        Also the cursor after the page ("" after the last).
        """
        member_of = None if user.role is GlobalRole.SUPERADMIN else user.id
        projects = await self.store.list_projects(member_of, pagination.decode_time_key(cursor), limit)
        roles = {m.project_id: m.role for m in await self.store.memberships_of(user.id)}
        after = pagination.next_time_key(projects, limit, lambda project: (project.created_at, project.id))
        return [(p, roles.get(p.id)) for p in projects], after

    async def update_project(self, project: Project, values: dict[str, Any]) -> Project:
        updated = await self.store.update_project(project.id, values) if values else project
        if updated is None:
            raise NotFound("project not found")
        return updated

    async def delete_project(self, project: Project) -> None:
        await self.store.delete_project(project.id)
        log.info("deleted project %s", project.id)

    # members

    async def list_members(self, project: Project, cursor: str, limit: int) -> tuple[list[Membership], str]:
        """A page of the project's members, by when they joined, and the cursor after it ("" after the last)."""
        found = await self.store.list_members(project.id, pagination.decode_time_key(cursor), limit)
        return found, pagination.next_time_key(found, limit, lambda member: (member.joined_at, member.user_id))

    async def put_member(self, project: Project, user_id: str, role: ProjectRole) -> tuple[Membership, User]:
        """Add a user to the project, or change their role (a project keeps one admin)."""
        user = await self.store.get_user(_known_id(user_id, "user"))
        if user is None:
            raise NotFound("user not found")
        if role is ProjectRole.USER and await self.store.membership(project.id, user.id) is ProjectRole.ADMIN:
            await self._keep_an_admin(project)
        return await self.store.put_member(project.id, user.id, role), user

    async def remove_member(self, project: Project, user_id: str) -> None:
        user_id = _known_id(user_id, "member")
        role = await self.store.membership(project.id, user_id)
        if role is None:
            raise NotFound("member not found")
        if role is ProjectRole.ADMIN:
            await self._keep_an_admin(project)
        await self.store.remove_member(project.id, user_id)

    async def _keep_an_admin(self, project: Project) -> None:
        if await self.store.count_admins(project.id) <= 1:
            raise FailedPrecondition("a project needs at least one admin")
