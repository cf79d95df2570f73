"""EntryRepository: the fake and PostgreSQL behave the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentmesh_core.ids import new_id
from agentmesh_memory.domain.models import MemoryEntry

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def _entry(project_id: str, content: str, *, agent_id: str | None = None, at: datetime = T0) -> MemoryEntry:
    return MemoryEntry(new_id(), project_id, agent_id, content, {"content": content, "n": 1}, "m", at)


async def test_add_get_and_scope(entry_repository) -> None:
    project, other = new_id(), new_id()
    a, b = _entry(project, "a"), _entry(other, "b")
    await entry_repository.add_many([a, b])
    assert await entry_repository.get(project, a.id) == a
    assert await entry_repository.get(project, b.id) is None
    assert await entry_repository.get_many(project, [a.id, b.id, new_id()]) == [a]
    assert await entry_repository.get_many(project, []) == []


async def test_list_newest_first_then_insertion_order(entry_repository) -> None:
    project, agent = new_id(), new_id()
    old = _entry(project, "old", at=T0)
    batch = [_entry(project, f"new {i}", agent_id=agent, at=T0 + timedelta(seconds=1)) for i in range(3)]
    await entry_repository.add_many([old])
    await entry_repository.add_many(batch)
    await entry_repository.add_many([_entry(new_id(), "elsewhere")])
    listed = await entry_repository.list_page(project, None, 0, 10)
    assert [e.content for e in listed] == ["new 2", "new 1", "new 0", "old"]
    assert [e.content for e in await entry_repository.list_page(project, None, 1, 2)] == ["new 1", "new 0"]
    assert [e.content for e in await entry_repository.list_page(project, agent, 0, 10)] == ["new 2", "new 1", "new 0"]


async def test_remove(entry_repository) -> None:
    project, other = new_id(), new_id()
    a, b, c = _entry(project, "a"), _entry(project, "b"), _entry(other, "c")
    await entry_repository.add_many([a, b, c])
    assert await entry_repository.remove_many(project, [a.id, c.id]) == 1
    assert await entry_repository.remove_many(project, []) == 0
    assert await entry_repository.remove_project(project) == 1
    assert await entry_repository.remove_project(project) == 0
    assert await entry_repository.get(other, c.id) == c
