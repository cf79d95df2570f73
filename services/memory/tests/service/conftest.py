"""A real MemoryService on a grpc.aio server (port 0): real model, PostgreSQL and the embedded Qdrant engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentmesh.memory.v1 import memory_service_pb2_grpc as pb_grpc
from agentmesh_db.database import Database
from agentmesh_devstack.grpc_testing import channel_to, serving
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.fakes import KnownAgents
from agentmesh_memory.adapters.repository import SqlEntryRepository
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.rpc.servicer import SERVICE_NAME, MemoryServicer, register


@pytest.fixture
async def memory(
    migrated_database_url: str, tmp_path: Path, real_embedder, agents: KnownAgents
) -> AsyncIterator[Memory]:
    """The domain over the real adapters (overrides the unit tests' fake one)."""
    database = Database(migrated_database_url)
    index = EdgeVectorIndex(tmp_path / "edge")
    await index.open(real_embedder.dimension)
    try:
        yield Memory(SqlEntryRepository(database), index, real_embedder, agents)
    finally:
        await index.close()
        database.dispose()


@pytest.fixture
async def address(memory: Memory) -> AsyncIterator[str]:
    async with serving(SERVICE_NAME, lambda server: register(server, MemoryServicer(memory))) as served:
        yield served


@pytest.fixture
async def stub(address: str) -> AsyncIterator[pb_grpc.MemoryServiceStub]:
    async with channel_to(address) as channel:
        yield pb_grpc.MemoryServiceStub(channel)
