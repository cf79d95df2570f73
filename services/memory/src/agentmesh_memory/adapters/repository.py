"""EntryRepository on PostgreSQL (SQLAlchemy Core, work off the event loop).

An add's rows are inserted `pending` (with its idempotency key claimed in
`add_keys` in the same transaction) and updated to `ready` once the vectors are
stored; every read shows ready rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentmesh_db.database import Database, affected_rows
from agentmesh_memory.adapters.tables import PENDING, READY, add_keys, entries
from agentmesh_memory.domain.models import MemoryEntry, PriorAdd
from agentmesh_memory.domain.ports import ListKey

_ready = entries.c.state == READY
_pending = entries.c.state == PENDING
# Every search reads its hits' rows: built once, its values bound when it runs (bound: in_project, ids).
_READY_BY_IDS = select(entries).where(
    entries.c.project_id == bindparam("in_project"), entries.c.id.in_(bindparam("ids", expanding=True)), _ready
)


def _from_row(row: Any) -> MemoryEntry:
    return MemoryEntry(
        id=str(row.id),
        project_id=str(row.project_id),
        agent_id=str(row.agent_id) if row.agent_id is not None else None,
        content=row.content,
        metadata=row.metadata,
        embedding_model=row.embedding_model,
        created_at=row.created_at,
    )


def _prior_add(connection: Connection, project_id: str, key: str) -> PriorAdd:
    query = (
        select(entries)
        .where((entries.c.project_id == project_id) & (entries.c.idempotency_key == key))
        .order_by(entries.c.seq)
    )
    rows = list(connection.execute(query))
    return PriorAdd(entries=[_from_row(row) for row in rows], complete=all(row.state == READY for row in rows))


class SqlEntryRepository:
    """Entries in memory.entries; every query is scoped by project (the sweep's excepted)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def reserve(self, items: Sequence[MemoryEntry], idempotency_key: str | None) -> PriorAdd | None:
        if not items:
            return None
        project_id = items[0].project_id
        rows = [
            {
                "id": e.id,
                "project_id": e.project_id,
                "agent_id": e.agent_id,
                "content": e.content,
                "metadata": e.metadata,
                "embedding_model": e.embedding_model,
                "created_at": e.created_at,
                "state": PENDING,
                "idempotency_key": idempotency_key,
            }
            for e in items
        ]

        def work(connection: Connection) -> PriorAdd | None:
            if idempotency_key is not None:
                claim = (
                    pg_insert(add_keys)
                    .values(project_id=project_id, idempotency_key=idempotency_key, created_at=items[0].created_at)
                    .on_conflict_do_nothing()
                    .returning(add_keys.c.project_id)
                )
                # A concurrent claim of the same key waits here until its transaction ends.
                if connection.execute(claim).first() is None:
                    return _prior_add(connection, project_id, idempotency_key)
            connection.execute(insert(entries), rows)
            return None

        return await self._db.run(work)

    async def find_add(self, project_id: str, idempotency_key: str) -> PriorAdd | None:
        def work(connection: Connection) -> PriorAdd | None:
            claimed = select(add_keys.c.project_id).where(
                (add_keys.c.project_id == project_id) & (add_keys.c.idempotency_key == idempotency_key)
            )
            if connection.execute(claimed).first() is None:
                return None
            return _prior_add(connection, project_id, idempotency_key)

        return await self._db.run(work)

    async def mark_ready(self, project_id: str, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        statement = (
            update(entries)
            .where((entries.c.project_id == project_id) & entries.c.id.in_(list(entry_ids)) & _pending)
            .values(state=READY)
        )
        return await self._db.run(lambda s: affected_rows(s, statement), transaction=False)

    async def pending_before(self, cutoff: datetime, limit: int) -> list[MemoryEntry]:
        query = select(entries).where(_pending & (entries.c.created_at < cutoff)).order_by(entries.c.created_at)
        return await self._db.run(
            lambda s: [_from_row(row) for row in s.execute(query.limit(limit))], transaction=False
        )

    async def abandon(self, project_id: str, entry_ids: Sequence[str]) -> list[str]:
        if not entry_ids:
            return []

        def work(connection: Connection) -> list[str]:
            removed = connection.execute(
                delete(entries)
                .where((entries.c.project_id == project_id) & entries.c.id.in_(list(entry_ids)) & _pending)
                .returning(entries.c.id, entries.c.idempotency_key)
            ).all()
            keys = {row.idempotency_key for row in removed if row.idempotency_key is not None}
            if keys:
                connection.execute(
                    delete(add_keys).where(
                        (add_keys.c.project_id == project_id) & add_keys.c.idempotency_key.in_(sorted(keys))
                    )
                )
            return [str(row.id) for row in removed]

        return await self._db.run(work)

    async def get(self, project_id: str, entry_id: str) -> MemoryEntry | None:
        def work(connection: Connection) -> MemoryEntry | None:
            query = select(entries).where((entries.c.project_id == project_id) & (entries.c.id == entry_id) & _ready)
            row = connection.execute(query).first()
            return _from_row(row) if row else None

        return await self._db.run(work)

    async def get_many(self, project_id: str, entry_ids: Sequence[str]) -> list[MemoryEntry]:
        if not entry_ids:
            return []
        values = {"in_project": project_id, "ids": list(entry_ids)}
        return await self._db.run(
            lambda s: [_from_row(row) for row in s.execute(_READY_BY_IDS, values)], transaction=False
        )

    async def list_page(
        self, project_id: str, agent_id: str | None, before: ListKey | None, limit: int
    ) -> tuple[list[MemoryEntry], ListKey | None]:
        query = select(entries).where((entries.c.project_id == project_id) & _ready)
        if agent_id is not None:
            query = query.where(entries.c.agent_id == agent_id)
        if before is not None:  # newest first: the next page holds the older keys
            query = query.where(tuple_(entries.c.created_at, entries.c.seq) < tuple_(*before))
        query = query.order_by(entries.c.created_at.desc(), entries.c.seq.desc()).limit(limit)
        rows = await self._db.run(lambda s: list(s.execute(query)), transaction=False)
        return [_from_row(row) for row in rows], (rows[-1].created_at, rows[-1].seq) if rows else None

    async def remove_many(self, project_id: str, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        statement = delete(entries).where(
            (entries.c.project_id == project_id) & entries.c.id.in_(list(entry_ids)) & _ready
        )
        return await self._db.run(lambda s: affected_rows(s, statement), transaction=False)

    async def remove_project(self, project_id: str) -> int:
        def work(connection: Connection) -> int:
            connection.execute(delete(add_keys).where(add_keys.c.project_id == project_id))
            return affected_rows(connection, delete(entries).where(entries.c.project_id == project_id))

        return await self._db.run(work)
