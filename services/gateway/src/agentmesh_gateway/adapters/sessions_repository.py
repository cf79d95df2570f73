"""Login sessions and refresh tokens in PostgreSQL (schema `gateway`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from agentmesh_core.ids import new_id
from agentmesh_db.database import Database, affected_rows
from agentmesh_gateway.accounts.models import Rotation, RotationOutcome, User
from agentmesh_gateway.adapters.access_cache import AccessCache, announce, session_key, user_key
from agentmesh_gateway.adapters.accounts_repository import user_from_row
from agentmesh_gateway.adapters.tables import refresh_tokens, sessions, users


def _now() -> datetime:
    return datetime.now(UTC)


class SqlSessionsRepository:
    """Implements accounts.ports.SessionStore; each method is one transaction.

    A revocation is announced in its transaction (access_cache.py); with a cache,
    user_in_session answers from it while it is fresh.
    """

    def __init__(self, db: Database, cache: AccessCache | None = None) -> None:
        self._db = db
        self._cache = cache or AccessCache(ttl_seconds=0)

    async def start(self, user_id: str, refresh_hash: str, expires_at: datetime) -> str:
        session_id, now = new_id(), _now()

        def work(s: Connection) -> str:
            # Housekeeping on the user's own rows: sessions whose refresh tokens all expired.
            s.execute(delete(sessions).where(sessions.c.user_id == user_id, sessions.c.expires_at < now))
            s.execute(insert(sessions).values(id=session_id, user_id=user_id, created_at=now, expires_at=expires_at))
            s.execute(
                insert(refresh_tokens).values(
                    token_hash=refresh_hash, session_id=session_id, created_at=now, expires_at=expires_at
                )
            )
            return session_id

        return await self._db.run(work)

    async def rotate(self, old_hash: str, new_hash: str, now: datetime, expires_at: datetime) -> Rotation:
        found = (
            select(refresh_tokens.c.session_id, refresh_tokens.c.used_at, refresh_tokens.c.expires_at,
                   sessions.c.revoked_at, users)
            .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
            .join(users, users.c.id == sessions.c.user_id)
            .where(refresh_tokens.c.token_hash == old_hash)
            # Two exchanges of one token serialize here: the second sees it used.
            .with_for_update(of=refresh_tokens)
        )  # fmt: skip

        def work(s: Connection) -> Rotation:
            row = s.execute(found).first()
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return Rotation(RotationOutcome.INVALID)
            if row.used_at is not None:
                s.execute(update(sessions).where(sessions.c.id == row.session_id).values(revoked_at=now))
                announce(s, session_key(row.session_id))
                return Rotation(RotationOutcome.REUSED, row.session_id)
            s.execute(update(refresh_tokens).where(refresh_tokens.c.token_hash == old_hash).values(used_at=now))
            s.execute(
                insert(refresh_tokens).values(
                    token_hash=new_hash, session_id=row.session_id, created_at=now, expires_at=expires_at
                )
            )
            s.execute(update(sessions).where(sessions.c.id == row.session_id).values(expires_at=expires_at))
            return Rotation(RotationOutcome.ROTATED, row.session_id, user_from_row(row))

        rotation = await self._db.run(work)
        if rotation.outcome is RotationOutcome.REUSED:
            self._cache.forget(session_key(rotation.session_id))
        return rotation

    async def user_in_session(self, user_id: str, session_id: str) -> tuple[User, bool] | None:
        # Asked by every authenticated request: from the cache while it is fresh, else one round trip.
        cached, generation = await self._cache.session(session_id)
        if cached is not None and cached[0].id == user_id:
            return cached
        query = (
            select(users, sessions.c.revoked_at)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(users.c.id == user_id, sessions.c.id == session_id)
        )
        row: Row | None = await self._db.run(lambda s: s.execute(query).first(), transaction=False)
        if row is None:
            return None
        found = user_from_row(row), row.revoked_at is None
        self._cache.keep_session(session_id, found, generation)
        return found

    async def end(self, user_id: str, session_id: str) -> None:
        statement = (
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )

        def work(s: Connection) -> None:
            s.execute(statement)
            announce(s, session_key(session_id))

        try:
            await self._db.run(work)
        finally:
            self._cache.forget(session_key(session_id))

    async def end_all(self, user_id: str) -> int:
        statement = (
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )

        def work(s: Connection) -> int:
            announce(s, user_key(user_id))
            return affected_rows(s, statement)

        try:
            return await self._db.run(work)
        finally:
            self._cache.forget(user_key(user_id))
