"""Each port suite runs over the in-memory fake and the real adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentmesh_db.database import Database
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.fakes import InMemoryEntryRepository, InMemoryVectorIndex
from agentmesh_memory.adapters.qdrant_index import QdrantVectorIndex
from agentmesh_memory.adapters.repository import SqlEntryRepository

DIMENSION = 4


@pytest.fixture(params=["fake", "postgres"])
async def entry_repository(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    if request.param == "fake":
        yield InMemoryEntryRepository()
        return
    database = Database(request.getfixturevalue("migrated_database_url"))
    try:
        yield SqlEntryRepository(database)
    finally:
        database.dispose()


@pytest.fixture(params=["fake", "qdrant-local", "qdrant-edge"])
async def vector_index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    """The congruence suite's subjects: the fake, qdrant-client (local mode standing in for
    the server's API) and the embedded engine."""
    if request.param == "fake":
        yield InMemoryVectorIndex()
        return
    index: QdrantVectorIndex | EdgeVectorIndex
    if request.param == "qdrant-local":
        index = QdrantVectorIndex.local(str(tmp_path / "qdrant"))
    else:
        index = EdgeVectorIndex(tmp_path / "edge")
    await index.open(DIMENSION)
    try:
        yield index
    finally:
        await index.close()
