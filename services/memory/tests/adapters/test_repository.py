"""EntryRepository: the fake and PostgreSQL behave the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentmesh_core.ids import new_id
from agentmesh_memory.domain.models import MemoryEntry

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def _entry(project_id: str, content: str, *, agent_id: str | None = None, at: datetime = T0) -> MemoryEntry:
    return MemoryEntry(new_id(), project_id, agent_id, content, {"content": content, "n": 1}, "m", at)


async def _stored(repository, *entries: MemoryEntry) -> None:
    """Each entry written as an add of its own, made ready."""
    for entry in entries:
        assert await repository.reserve([entry], None) is None
        assert await repository.mark_ready(entry.project_id, [entry.id]) == 1


async def _listed(repository, project_id: str, agent_id: str | None = None) -> list[MemoryEntry]:
    """The whole list, in one page."""
    entries, _ = await repository.list_page(project_id, agent_id, None, 100)
    return entries


async def test_add_get_and_scope(entry_repository) -> None:
    project, other = new_id(), new_id()
    a, b = _entry(project, "a"), _entry(other, "b")
    await _stored(entry_repository, a, b)
    assert await entry_repository.get(project, a.id) == a
    assert await entry_repository.get(project, b.id) is None
    assert await entry_repository.get_many(project, [a.id, b.id, new_id()]) == [a]
    assert await entry_repository.get_many(project, []) == []


async def test_list_newest_first_then_insertion_order(entry_repository) -> None:
    project, agent = new_id(), new_id()
    old = _entry(project, "old", at=T0)
    batch = [_entry(project, f"new {i}", agent_id=agent, at=T0 + timedelta(seconds=1)) for i in range(3)]
    await _stored(entry_repository, old)
    assert await entry_repository.reserve(batch, None) is None
    assert await entry_repository.mark_ready(project, [e.id for e in batch]) == 3
    await _stored(entry_repository, _entry(new_id(), "elsewhere"))
    assert [e.content for e in await _listed(entry_repository, project)] == ["new 2", "new 1", "new 0", "old"]
    first, after = await entry_repository.list_page(project, None, None, 1)
    second, _ = await entry_repository.list_page(project, None, after, 2)
    assert [e.content for e in first + second] == ["new 2", "new 1", "new 0"]
    assert [e.content for e in await _listed(entry_repository, project, agent)] == ["new 2", "new 1", "new 0"]


async def test_remove(entry_repository) -> None:
    project, other = new_id(), new_id()
    a, b, c = _entry(project, "a"), _entry(project, "b"), _entry(other, "c")
    await _stored(entry_repository, a, b, c)
    assert await entry_repository.remove_many(project, [a.id, c.id]) == 1
    assert await entry_repository.remove_many(project, []) == 0
    assert await entry_repository.remove_project(project) == 1
    assert await entry_repository.remove_project(project) == 0
    assert await entry_repository.get(other, c.id) == c


async def test_pending_entries_are_invisible_until_ready(entry_repository) -> None:
    project = new_id()
    a, b = _entry(project, "a"), _entry(project, "b")
    assert await entry_repository.reserve([a, b], None) is None
    assert await entry_repository.get(project, a.id) is None
    assert await entry_repository.get_many(project, [a.id, b.id]) == []
    assert await _listed(entry_repository, project) == []
    assert await entry_repository.remove_many(project, [a.id]) == 0  # a delete cannot reach a pending entry
    assert await entry_repository.mark_ready(project, [a.id]) == 1
    assert await entry_repository.mark_ready(project, [a.id]) == 0
    assert await _listed(entry_repository, project) == [a]
    assert await entry_repository.mark_ready(new_id(), [b.id]) == 0  # scoped by project
    assert await entry_repository.get(project, b.id) is None


async def test_a_key_is_claimed_once_per_project(entry_repository) -> None:
    project, other = new_id(), new_id()
    first = [_entry(project, "one"), _entry(project, "two")]
    assert await entry_repository.find_add(project, "k1") is None
    assert await entry_repository.reserve(first, "k1") is None

    again = await entry_repository.reserve([_entry(project, "other text")], "k1")
    assert again is not None and again.entries == first and not again.complete
    assert await entry_repository.mark_ready(project, [e.id for e in first]) == 2
    found = await entry_repository.find_add(project, "k1")
    assert found is not None and found.entries == first and found.complete
    assert [e.content for e in await _listed(entry_repository, project)] == ["two", "one"]

    # The same key in another project is another add.
    elsewhere = _entry(other, "elsewhere")
    assert await entry_repository.reserve([elsewhere], "k1") is None
    assert await entry_repository.find_add(project, "k2") is None


async def test_the_sweep_finds_old_pending_entries_and_abandon_frees_their_key(entry_repository) -> None:
    project, other = new_id(), new_id()
    stale = [_entry(project, "stale 1", at=T0), _entry(project, "stale 2", at=T0)]
    fresh = _entry(other, "fresh", at=T0 + timedelta(minutes=10))
    ready = _entry(project, "ready", at=T0)
    assert await entry_repository.reserve(stale, "cut-short") is None
    assert await entry_repository.reserve([fresh], None) is None
    await _stored(entry_repository, ready)

    found = await entry_repository.pending_before(T0 + timedelta(minutes=5), 10)
    assert sorted(e.content for e in found) == ["stale 1", "stale 2"]
    assert len(await entry_repository.pending_before(T0 + timedelta(minutes=5), 1)) == 1
    assert len(await entry_repository.pending_before(T0 + timedelta(minutes=20), 10)) == 3

    abandoned = await entry_repository.abandon(project, [e.id for e in stale] + [ready.id])
    assert sorted(abandoned) == sorted(e.id for e in stale)  # ready ones stay
    assert await entry_repository.pending_before(T0 + timedelta(minutes=5), 10) == []
    assert await entry_repository.find_add(project, "cut-short") is None  # the key is free again
    assert await entry_repository.get(project, ready.id) == ready
    assert await entry_repository.abandon(project, []) == []


async def test_removing_a_project_frees_its_keys(entry_repository) -> None:
    project = new_id()
    assert await entry_repository.reserve([_entry(project, "a")], "k") is None
    assert await entry_repository.remove_project(project) == 1
    assert await entry_repository.find_add(project, "k") is None
    assert await entry_repository.reserve([_entry(project, "b")], "k") is None


async def test_keyset_pages_neither_repeat_nor_skip_while_entries_arrive(entry_repository) -> None:
    project = new_id()
    await _stored(entry_repository, *(_entry(project, f"single {n}", at=T0 + timedelta(seconds=n)) for n in range(3)))
    # One add's chunks share a time: the write order orders them, so none is lost at a page edge.
    batch = [_entry(project, f"chunk {n}", at=T0 + timedelta(seconds=1)) for n in range(3)]
    assert await entry_repository.reserve(batch, None) is None
    assert await entry_repository.mark_ready(project, [e.id for e in batch]) == 3
    expected = [e.content for e in await _listed(entry_repository, project)]
    assert expected == ["single 2", "chunk 2", "chunk 1", "chunk 0", "single 1", "single 0"]
    seen: list[str] = []
    after = None
    for round_ in range(10):
        page, after = await entry_repository.list_page(project, None, after, 2)
        seen += [e.content for e in page]
        if len(page) < 2:
            break
        # A newer entry arrives between two page reads: an offset would repeat the last one read.
        await _stored(
            entry_repository, _entry(project, f"arrived {round_}", at=T0 + timedelta(hours=1, seconds=round_))
        )
    assert seen == expected
