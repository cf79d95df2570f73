"""EntryRepository on PostgreSQL (SQLAlchemy Core, work off the event loop)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from agentmesh_db.database import Database, affected_rows
from agentmesh_memory.adapters.tables import entries
from agentmesh_memory.domain.models import MemoryEntry


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


class SqlEntryRepository:
    """Entries in memory.entries; every query is scoped by project."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add_many(self, items: Sequence[MemoryEntry]) -> None:
        if not items:
            return
        rows = [
            {
                "id": e.id,
                "project_id": e.project_id,
                "agent_id": e.agent_id,
                "content": e.content,
                "metadata": e.metadata,
                "embedding_model": e.embedding_model,
                "created_at": e.created_at,
            }
            for e in items
        ]
        await self._db.run(lambda s: s.execute(insert(entries), rows))

    async def get(self, project_id: str, entry_id: str) -> MemoryEntry | None:
        def work(session: Session) -> MemoryEntry | None:
            query = select(entries).where((entries.c.project_id == project_id) & (entries.c.id == entry_id))
            row = session.execute(query).first()
            return _from_row(row) if row else None

        return await self._db.run(work)

    async def get_many(self, project_id: str, entry_ids: Sequence[str]) -> list[MemoryEntry]:
        if not entry_ids:
            return []
        query = select(entries).where((entries.c.project_id == project_id) & entries.c.id.in_(list(entry_ids)))
        return await self._db.run(lambda s: [_from_row(row) for row in s.execute(query)])

    async def list_page(self, project_id: str, agent_id: str | None, offset: int, limit: int) -> list[MemoryEntry]:
        query = select(entries).where(entries.c.project_id == project_id)
        if agent_id is not None:
            query = query.where(entries.c.agent_id == agent_id)
        query = query.order_by(entries.c.created_at.desc(), entries.c.seq.desc()).offset(offset).limit(limit)
        return await self._db.run(lambda s: [_from_row(row) for row in s.execute(query)])

    async def remove_many(self, project_id: str, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        statement = delete(entries).where((entries.c.project_id == project_id) & entries.c.id.in_(list(entry_ids)))
        return await self._db.run(lambda s: affected_rows(s, statement))

    async def remove_project(self, project_id: str) -> int:
        statement = delete(entries).where(entries.c.project_id == project_id)
        return await self._db.run(lambda s: affected_rows(s, statement))
