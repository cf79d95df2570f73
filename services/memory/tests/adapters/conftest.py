"""Each port suite runs over the in-memory fake and the real adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentmesh_db.database import Database
from agentmesh_db.migrations import upgrade_to_head
from agentmesh_memory.adapters.fakes import InMemoryEntryRepository, InMemoryVectorIndex
from agentmesh_memory.adapters.qdrant_index import QdrantVectorIndex
from agentmesh_memory.adapters.repository import SqlEntryRepository
from agentmesh_memory.adapters.tables import MIGRATIONS_DIR, SCHEMA

DIMENSION = 4


@pytest.fixture(params=["fake", "postgres"])
async def entry_repository(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    if request.param == "fake":
        yield InMemoryEntryRepository()
        return
    database = Database(request.getfixturevalue("database_url"))
    await asyncio.to_thread(upgrade_to_head, database.engine, MIGRATIONS_DIR, SCHEMA)
    try:
        yield SqlEntryRepository(database)
    finally:
        database.dispose()


@pytest.fixture(params=["fake", "qdrant-local"])
async def vector_index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    if request.param == "fake":
        yield InMemoryVectorIndex()
        return
    index = QdrantVectorIndex.local(str(tmp_path / "qdrant"))
    await index.open(DIMENSION)
    try:
        yield index
    finally:
        await index.close()
