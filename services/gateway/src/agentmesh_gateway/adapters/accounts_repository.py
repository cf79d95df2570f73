"""The accounts store in PostgreSQL (schema `gateway`): users, projects, memberships."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Connection, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from agentmesh_core.errors import AlreadyExists
from agentmesh_core.identity import GlobalRole, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_db.database import Database, affected_rows
from agentmesh_gateway.accounts.models import Membership, Project, User
from agentmesh_gateway.adapters.access_cache import AccessCache, announce, project_key, user_key
from agentmesh_gateway.adapters.tables import project_members, projects, sessions, users

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def user_from_row(row: Row) -> User:
    """A User from a row holding the users table's columns."""
    return User(
        id=row.id,
        username=row.username,
        role=GlobalRole(row.role),
        is_active=row.is_active,
        created_at=row.created_at,
        last_login=row.last_login,
        password_hash=row.password_hash,
    )


def _project(row: Row) -> Project:
    return Project(row.id, row.name, row.description, row.owner_id, row.settings or {}, row.created_at)


class SqlAccountsRepository:
    """Implements accounts.ports.AccountsStore; each method is one transaction.

    Changes to a user, a membership or a project are announced in their transaction
    (access_cache.py); with a cache, project_with_role answers from it while it is fresh.
    """

    def __init__(self, db: Database, cache: AccessCache | None = None) -> None:
        self._db = db
        self._cache = cache or AccessCache(ttl_seconds=0)

    async def _write(self, work: Callable[[Connection], T], *keys: str) -> T:
        """Run work in one transaction that announces keys; forget them here once it is over."""

        def announced(s: Connection) -> T:
            result = work(s)
            announce(s, *keys)
            return result

        try:
            return await self._db.run(announced)
        finally:
            self._cache.forget(*keys)

    # users

    async def count_users(self) -> int:
        return await self._db.run(
            lambda s: s.execute(select(func.count()).select_from(users)).scalar_one(), transaction=False
        )

    async def create_user(self, username: str, password_hash: str, role: GlobalRole) -> User:
        values = {
            "id": new_id(),
            "username": username,
            "password_hash": password_hash,
            "role": role.value,
            "is_active": True,
            "created_at": _now(),
        }

        def work(s: Connection) -> User:
            try:
                return user_from_row(s.execute(insert(users).values(**values).returning(users)).one())
            except IntegrityError:
                raise AlreadyExists("username is taken") from None

        return await self._db.run(work)

    async def get_user(self, user_id: str) -> User | None:
        row = await self._db.run(
            lambda s: s.execute(select(users).where(users.c.id == user_id)).first(), transaction=False
        )
        return user_from_row(row) if row else None

    async def get_user_by_username(self, username: str) -> User | None:
        row = await self._db.run(
            lambda s: s.execute(select(users).where(users.c.username == username)).first(), transaction=False
        )
        return user_from_row(row) if row else None

    async def list_users(self, after: tuple[datetime, str] | None, limit: int) -> list[User]:
        query = select(users).order_by(users.c.created_at, users.c.id).limit(limit)
        if after is not None:
            query = query.where(tuple_(users.c.created_at, users.c.id) > tuple_(*after))
        return [user_from_row(r) for r in await self._db.run(lambda s: s.execute(query).all(), transaction=False)]

    async def update_user(self, user_id: str, values: dict, end_sessions: bool = False) -> User | None:
        query = update(users).where(users.c.id == user_id).values(**values).returning(users)
        revoke = (
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )

        def work(s: Connection) -> Row | None:
            row = s.execute(query).first()
            if row is not None and end_sessions:
                s.execute(revoke)
            return row

        row = await self._write(work, user_key(user_id))
        return user_from_row(row) if row else None

    async def record_login(self, user_id: str) -> None:
        statement = update(users).where(users.c.id == user_id).values(last_login=_now())
        await self._write(lambda s: s.execute(statement), user_key(user_id))

    # projects

    async def create_project(self, name: str, description: str, settings: dict, owner_id: str) -> Project:
        project_id, now = new_id(), _now()

        def work(s: Connection) -> Project:
            row = s.execute(
                insert(projects)
                .values(id=project_id, name=name, description=description, owner_id=owner_id,
                        settings=settings, created_at=now)
                .returning(projects)
            ).one()  # fmt: skip
            s.execute(
                insert(project_members).values(
                    project_id=project_id, user_id=owner_id, role=ProjectRole.ADMIN.value, created_at=now
                )
            )
            return _project(row)

        return await self._db.run(work)

    async def project_with_role(self, project_id: str, user_id: str) -> tuple[Project, ProjectRole | None] | None:
        # Every project-scoped request asks this: from the cache while it is fresh, else one round trip.
        cached, generation = await self._cache.role(project_id, user_id)
        if cached is not None:
            return cached
        member = (project_members.c.project_id == projects.c.id) & (project_members.c.user_id == user_id)
        query = (
            select(projects, project_members.c.role.label("member_role"))
            .outerjoin(project_members, member)
            .where(projects.c.id == project_id)
        )
        row = await self._db.run(lambda s: s.execute(query).first(), transaction=False)
        if row is None:
            return None
        found = _project(row), ProjectRole(row.member_role) if row.member_role else None
        self._cache.keep_role(project_id, user_id, found, generation)
        return found

    async def list_projects(self, user_id: str | None, after: tuple[datetime, str] | None, limit: int) -> list[Project]:
        """Projects user_id belongs to, or every project when user_id is None."""
        query = select(projects)
        if user_id is not None:
            query = query.join(project_members, project_members.c.project_id == projects.c.id).where(
                project_members.c.user_id == user_id
            )
        if after is not None:
            query = query.where(tuple_(projects.c.created_at, projects.c.id) > tuple_(*after))
        query = query.order_by(projects.c.created_at, projects.c.id).limit(limit)
        return [_project(r) for r in await self._db.run(lambda s: s.execute(query).all(), transaction=False)]

    async def update_project(self, project_id: str, values: dict) -> Project | None:
        query = update(projects).where(projects.c.id == project_id).values(**values).returning(projects)
        row = await self._write(lambda s: s.execute(query).first(), project_key(project_id))
        return _project(row) if row else None

    async def delete_project(self, project_id: str) -> None:
        statement = delete(projects).where(projects.c.id == project_id)
        await self._write(lambda s: s.execute(statement), project_key(project_id))

    # memberships

    async def membership(self, project_id: str, user_id: str) -> ProjectRole | None:
        query = select(project_members.c.role).where(
            project_members.c.project_id == project_id, project_members.c.user_id == user_id
        )
        role = await self._db.run(lambda s: s.scalar(query), transaction=False)
        return ProjectRole(role) if role else None

    async def count_admins(self, project_id: str) -> int:
        query = (
            select(func.count())
            .select_from(project_members)
            .where(project_members.c.project_id == project_id, project_members.c.role == ProjectRole.ADMIN.value)
        )
        return await self._db.run(lambda s: s.execute(query).scalar_one(), transaction=False)

    async def list_members(self, project_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Membership]:
        joined = tuple_(project_members.c.created_at, project_members.c.user_id)
        query = (
            select(project_members, users.c.username)
            .join(users, users.c.id == project_members.c.user_id)
            .where(project_members.c.project_id == project_id)
            .order_by(project_members.c.created_at, project_members.c.user_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(joined > tuple_(*after))
        rows = await self._db.run(lambda s: s.execute(query).all(), transaction=False)
        return [
            Membership(r.project_id, r.user_id, ProjectRole(r.role), r.created_at, username=r.username) for r in rows
        ]

    async def memberships_of(self, user_id: str) -> list[Membership]:
        query = (
            select(project_members, projects.c.name)
            .join(projects, projects.c.id == project_members.c.project_id)
            .where(project_members.c.user_id == user_id)
            .order_by(projects.c.name)
        )
        rows = await self._db.run(lambda s: s.execute(query).all(), transaction=False)
        return [
            Membership(r.project_id, r.user_id, ProjectRole(r.role), r.created_at, project_name=r.name) for r in rows
        ]

    async def put_member(self, project_id: str, user_id: str, role: ProjectRole) -> Membership:
        statement = (
            pg_insert(project_members)
            .values(project_id=project_id, user_id=user_id, role=role.value, created_at=_now())
            .on_conflict_do_update(index_elements=["project_id", "user_id"], set_={"role": role.value})
            .returning(project_members.c.created_at)
        )
        joined_at = await self._write(lambda s: s.execute(statement).scalar_one(), user_key(user_id))
        return Membership(project_id, user_id, role, joined_at)

    async def remove_member(self, project_id: str, user_id: str) -> bool:
        statement = delete(project_members).where(
            project_members.c.project_id == project_id, project_members.c.user_id == user_id
        )
        return await self._write(lambda s: affected_rows(s, statement) > 0, user_key(user_id))
