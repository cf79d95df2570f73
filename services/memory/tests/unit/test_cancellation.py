"""A caller that goes away mid-write never leaves half of the write done."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from agentmesh_core.errors import Unavailable
from agentmesh_core.identity import Identity
from agentmesh_memory.adapters.fakes import HashingEmbedder, InMemoryEntryRepository, InMemoryVectorIndex, KnownAgents
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.domain.models import Document, VectorPoint


class GatedIndex(InMemoryVectorIndex):
    """Holds every write until `gate` is set, like a slow Qdrant."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()
        self.fail_upsert: Exception | None = None

    async def _hold(self) -> None:
        self.waiting.set()
        await self.gate.wait()

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        await self._hold()
        if self.fail_upsert is not None:
            raise self.fail_upsert
        await super().upsert(points)

    async def delete(self, ids: Sequence[str]) -> None:
        await self._hold()
        await super().delete(ids)

    async def delete_project(self, project_id: str) -> None:
        await self._hold()
        await super().delete_project(project_id)


@pytest.fixture
def gated() -> GatedIndex:
    return GatedIndex()


@pytest.fixture
def gated_memory(repository: InMemoryEntryRepository, gated: GatedIndex, agents: KnownAgents) -> Memory:
    return Memory(repository, gated, HashingEmbedder(), agents)


async def _cancel_while_held(gated: GatedIndex, call) -> None:
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(call)
    await gated.waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gated.waiting.clear()
    gated.gate.set()
    # The write goes on in a task of its own: wait for exactly the tasks this call started.
    await asyncio.gather(*(asyncio.all_tasks() - before - {task}), return_exceptions=True)


async def test_cancelled_add_still_stores_rows_and_vectors(
    gated_memory: Memory, repository: InMemoryEntryRepository, gated: GatedIndex, member: Identity, project_id: str
) -> None:
    await _cancel_while_held(gated, gated_memory.add(member, project_id, "", [Document("a"), Document("b")]))
    assert len(repository.entries) == 2 and set(gated.points) == set(repository.entries)


async def test_cancelled_add_whose_vectors_fail_is_rolled_back(
    gated_memory: Memory, repository: InMemoryEntryRepository, gated: GatedIndex, member: Identity, project_id: str
) -> None:
    gated.fail_upsert = Unavailable("vector index unavailable")
    await _cancel_while_held(gated, gated_memory.add(member, project_id, "", [Document("a")]))
    assert repository.entries == {} and gated.points == {}


async def test_cancelled_delete_still_removes_row_and_vector(
    gated_memory: Memory,
    repository: InMemoryEntryRepository,
    gated: GatedIndex,
    member: Identity,
    admin: Identity,
    project_id: str,
) -> None:
    gated.gate.set()
    [entry] = await gated_memory.add(member, project_id, "", [Document("a")])
    gated.gate.clear()
    gated.waiting.clear()
    await _cancel_while_held(gated, gated_memory.delete(admin, project_id, entry.id))
    assert repository.entries == {} and gated.points == {}


async def test_cancelled_project_delete_still_removes_everything(
    gated_memory: Memory,
    repository: InMemoryEntryRepository,
    gated: GatedIndex,
    member: Identity,
    admin: Identity,
    project_id: str,
) -> None:
    gated.gate.set()
    await gated_memory.add(member, project_id, "", [Document("a"), Document("b")])
    gated.gate.clear()
    gated.waiting.clear()
    await _cancel_while_held(gated, gated_memory.delete_project(admin, project_id))
    assert repository.entries == {} and gated.points == {}
