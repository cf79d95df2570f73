"""Posted messages are marked a moment later, many in one write per project."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from agentmesh_agents.domain.published_marks import PublishedMarks

T0 = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)


class Marked:
    """A message store that records each mark_published write."""

    def __init__(self, fail: bool = False) -> None:
        self.writes: list[tuple[str, list[str], datetime]] = []
        self.fail = fail

    async def mark_published(self, project_id: str, message_ids: list[str], at: datetime) -> None:
        if self.fail:
            raise ConnectionError("database down")
        self.writes.append((project_id, list(message_ids), at))


class Posted:
    def __init__(self, project_id: str, message_id: str) -> None:
        self.project_id, self.id = project_id, message_id


async def test_posts_made_together_are_marked_in_one_write_per_project_after_the_delay() -> None:
    now = [T0]
    store = Marked()
    marks = PublishedMarks(store, lambda: now[0], delay=0.01)  # type: ignore[arg-type]

    marks.add(Posted("p1", "a"))  # type: ignore[arg-type]
    now[0] += timedelta(milliseconds=3)
    marks.add(Posted("p1", "b"))  # type: ignore[arg-type]
    marks.add(Posted("p2", "c"))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert store.writes == []  # not on the posts' path
    await asyncio.sleep(0.05)

    # Stamped with the first post's time in each project.
    assert sorted(store.writes) == [("p1", ["a", "b"], T0), ("p2", ["c"], T0 + timedelta(milliseconds=3))]


async def test_settle_writes_what_is_pending_at_once() -> None:
    store = Marked()
    marks = PublishedMarks(store, lambda: T0, delay=60.0)  # type: ignore[arg-type]
    marks.add(Posted("p1", "a"))  # type: ignore[arg-type]

    await asyncio.wait_for(marks.settle(), 1.0)  # does not wait out the delay

    assert store.writes == [("p1", ["a"], T0)]
    marks.add(Posted("p1", "b"))  # type: ignore[arg-type]
    await marks.settle()
    assert store.writes[-1] == ("p1", ["b"], T0)


async def test_a_failed_write_is_logged_and_left_to_the_recovery_sweep(caplog) -> None:
    store = Marked(fail=True)
    marks = PublishedMarks(store, lambda: T0, delay=0.0)  # type: ignore[arg-type]
    marks.add(Posted("p1", "a"))  # type: ignore[arg-type]
    marks.add(Posted("p1", "b"))  # type: ignore[arg-type]

    await marks.settle()

    assert "marking 2 messages published failed (ConnectionError)" in caplog.text
    store.fail = False
    await marks.settle()
    assert store.writes == []  # dropped: the sweep posts them again, the mailbox drops the repeats
