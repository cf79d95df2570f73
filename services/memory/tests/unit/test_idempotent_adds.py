"""Adds are idempotent by key and atomic: rows pending until their vectors are stored, crashes swept or finished."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from agentmesh_core.errors import InvalidInput, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_memory.adapters.fakes import HashingEmbedder, InMemoryEntryRepository, InMemoryVectorIndex
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.domain.models import Document, MemoryEntry, VectorPoint

GRACE = timedelta(minutes=5)


async def test_the_same_key_returns_the_first_add_and_stores_nothing_more(
    memory: Memory,
    repository: InMemoryEntryRepository,
    index: InMemoryVectorIndex,
    embedder: HashingEmbedder,
    member: Identity,
    project_id: str,
) -> None:
    first = await memory.add(member, project_id, "", [Document("one"), Document("two")], "retry-7")
    embeds = len(embedder.calls)
    again = await memory.add(member, project_id, "", [Document("one"), Document("two")], "retry-7")
    # The first add wins even when a retry carries other documents (as the messages route does).
    other = await memory.add(member, project_id, "", [Document("something else")], "retry-7")
    assert again == first and other == first
    assert len(embedder.calls) == embeds  # nothing embedded for a repeat of a complete add
    assert set(repository.entries) == set(index.points) == {e.id for e in first}
    listed = await memory.list_page(member, project_id, "", 10, "")
    assert sorted(e.content for e in listed[0]) == ["one", "two"]


async def test_keys_are_per_project_and_an_add_without_a_key_always_stores(
    memory: Memory, repository: InMemoryEntryRepository, member: Identity, service_identity: Identity, project_id: str
) -> None:
    [mine] = await memory.add(member, project_id, "", [Document("a")], "k")
    [theirs] = await memory.add(service_identity, new_id(), "", [Document("a")], "k")
    [plain_1] = await memory.add(member, project_id, "", [Document("a")])
    [plain_2] = await memory.add(member, project_id, "", [Document("a")])
    assert len({mine.id, theirs.id, plain_1.id, plain_2.id}) == 4
    assert len(repository.entries) == 4


async def test_a_retry_finishes_an_add_cut_short_after_its_rows(
    memory: Memory,
    repository: InMemoryEntryRepository,
    index: InMemoryVectorIndex,
    member: Identity,
    project_id: str,
) -> None:
    """A crash between the rows and the vectors leaves pending rows; the retry with the key finishes them."""
    [written] = await memory.add(member, project_id, "", [Document("Paris is in France.")], "before")
    cut_short = MemoryEntry(new_id(), project_id, None, "Rome is in Italy.", {}, "fake-hashing", written.created_at)
    assert await repository.reserve([cut_short], "crashed") is None
    assert cut_short.id not in index.points
    assert [h.entry.id for h in await memory.search(member, project_id, "Italy", 5, "", {})] == [written.id]

    assert await memory.add(member, project_id, "", [Document("Rome is in Italy.")], "crashed") == [cut_short]
    assert cut_short.id in index.points and not repository.pending
    hits = await memory.search(member, project_id, "Rome is in Italy.", 1, "", {})
    assert [h.entry.id for h in hits] == [cut_short.id]


async def test_a_failed_add_leaves_nothing_and_frees_its_key(
    memory: Memory, repository: InMemoryEntryRepository, index: InMemoryVectorIndex, member: Identity, project_id: str
) -> None:
    index.fail_next_upsert = Unavailable("vector index unavailable")
    with pytest.raises(Unavailable):
        await memory.add(member, project_id, "", [Document(f"doc {i}") for i in range(4)], "k")
    assert repository.entries == {} and index.points == {} and repository.keys == {}
    entries = await memory.add(member, project_id, "", [Document("doc 0")], "k")
    assert [e.content for e in entries] == ["doc 0"] and set(index.points) == {entries[0].id}


async def test_the_sweep_removes_adds_cut_short_and_leaves_running_ones(
    memory: Memory,
    repository: InMemoryEntryRepository,
    index: InMemoryVectorIndex,
    member: Identity,
    project_id: str,
) -> None:
    [ready] = await memory.add(member, project_id, "", [Document("kept")])
    long_ago = ready.created_at - GRACE - timedelta(seconds=1)
    stale = MemoryEntry(new_id(), project_id, None, "stale", {}, "fake-hashing", long_ago)
    running = MemoryEntry(new_id(), project_id, None, "running", {}, "fake-hashing", ready.created_at)
    assert await repository.reserve([stale], "stale-key") is None
    assert await repository.reserve([running], None) is None
    # The stale add's vector reached the index before the crash.
    [vector] = await memory.embed(member, ["stale"])
    await index.upsert([VectorPoint(stale.id, vector, project_id, None, {})])

    assert await memory.sweep_pending(GRACE) == 1
    assert set(repository.entries) == {ready.id, running.id} and repository.pending == {running.id}
    assert stale.id not in index.points and ready.id in index.points
    assert repository.keys == {}
    assert await memory.sweep_pending(GRACE) == 0


@pytest.mark.parametrize("key", ["k" * 201, "nul\x00", "\ud800"])
async def test_bad_keys_are_refused(
    memory: Memory, repository: InMemoryEntryRepository, member: Identity, project_id: str, key: str
) -> None:
    with pytest.raises(InvalidInput, match="idempotency_key"):
        await memory.add(member, project_id, "", [Document("x")], key)
    assert repository.entries == {}


async def test_a_key_of_200_characters_is_fine(memory: Memory, member: Identity, project_id: str) -> None:
    assert len(await memory.add(member, project_id, "", [Document("x")], "k" * 200)) == 1


class FirstUpsertFailsLater(InMemoryVectorIndex):
    """The first upsert waits for `release`, then fails (after writing its points); later ones work."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.first_waiting = asyncio.Event()
        self._calls = 0

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        self._calls += 1
        await super().upsert(points)
        if self._calls == 1:
            self.first_waiting.set()
            await self.release.wait()
            raise Unavailable("vector index unavailable")


async def test_a_failing_original_does_not_undo_what_its_retry_finished(
    repository: InMemoryEntryRepository, embedder: HashingEmbedder, agents, member: Identity, project_id: str
) -> None:
    index = FirstUpsertFailsLater()
    memory = Memory(repository, index, embedder, agents)
    original = asyncio.create_task(memory.add(member, project_id, "", [Document("Oslo is in Norway.")], "k"))
    await index.first_waiting.wait()
    retried = await memory.add(member, project_id, "", [Document("Oslo is in Norway.")], "k")
    index.release.set()
    with pytest.raises(Unavailable):
        await original
    # The retry's answer stands: its entry is listed and found.
    assert [e.id for e in (await memory.list_page(member, project_id, "", 10, ""))[0]] == [retried[0].id]
    hits = await memory.search(member, project_id, "Oslo is in Norway.", 1, "", {})
    assert [h.entry.id for h in hits] == [retried[0].id]


class SweptWhileFinishing(InMemoryEntryRepository):
    """The sweep removes the pending rows just before this add marks them ready."""

    async def mark_ready(self, project_id: str, entry_ids: Sequence[str]) -> int:
        await self.abandon(project_id, entry_ids)
        return await super().mark_ready(project_id, entry_ids)


async def test_an_add_whose_rows_were_swept_is_not_acknowledged(
    index: InMemoryVectorIndex, embedder: HashingEmbedder, agents, member: Identity, project_id: str
) -> None:
    repository = SweptWhileFinishing()
    memory = Memory(repository, index, embedder, agents)
    with pytest.raises(Unavailable, match="interrupted"):
        await memory.add(member, project_id, "", [Document("gone")], "k")
    assert repository.entries == {} and index.points == {}
