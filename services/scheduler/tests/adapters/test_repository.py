"""One suite over InMemoryScheduleRepository and SqlScheduleRepository."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from agentmesh_core.ids import new_id
from agentmesh_db.database import Database
from agentmesh_db.migrations import upgrade_to_head
from agentmesh_scheduler.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_scheduler.domain.models import (
    CronTrigger,
    IntervalTrigger,
    OneOffTrigger,
    Schedule,
    Trigger,
    temporal_schedule_id,
)
from agentmesh_scheduler.domain.ports import ScheduleRepository

NOW = datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC)


def _schedule(project_id: str, trigger: Trigger, created_at: datetime = NOW, **changes: object) -> Schedule:
    schedule_id = new_id()
    schedule = Schedule(
        id=schedule_id,
        project_id=project_id,
        agent_id=new_id(),
        trigger=trigger,
        time_zone="Europe/Berlin",
        payload={"task": "report", "depth": 2, "tags": ["a", None]},
        enabled=True,
        temporal_schedule_id=temporal_schedule_id(project_id, schedule_id),
        created_at=created_at,
        next_run_at=created_at + timedelta(minutes=1),
    )
    return dataclasses.replace(schedule, **changes)


async def test_round_trip_of_every_trigger_kind(any_repository: ScheduleRepository) -> None:
    project_id = new_id()
    triggers: list[Trigger] = [
        CronTrigger("0 9 * * mon-fri"),
        IntervalTrigger(2),
        OneOffTrigger(NOW + timedelta(days=1)),
    ]
    for trigger in triggers:
        schedule = _schedule(project_id, trigger)
        await any_repository.add(schedule)
        assert await any_repository.get(project_id, schedule.id) == schedule


async def test_string_payload_and_disabled_flag(any_repository: ScheduleRepository) -> None:
    schedule = _schedule(new_id(), IntervalTrigger(60), payload="just text", enabled=False, next_run_at=None)
    await any_repository.add(schedule)
    assert await any_repository.get(schedule.project_id, schedule.id) == schedule


async def test_rows_are_scoped_by_project(any_repository: ScheduleRepository) -> None:
    schedule = _schedule(new_id(), IntervalTrigger(60))
    await any_repository.add(schedule)
    other = new_id()
    assert await any_repository.get(other, schedule.id) is None
    assert await any_repository.list_page(other, None, 10) == []
    assert await any_repository.remove(other, schedule.id) is False
    assert await any_repository.record_run(other, schedule.id, NOW, "x", None) is False
    assert await any_repository.get(schedule.project_id, schedule.id) == schedule


async def test_list_pages_by_creation_time(any_repository: ScheduleRepository) -> None:
    project_id = new_id()
    created = [_schedule(project_id, IntervalTrigger(60), NOW + timedelta(seconds=i)) for i in range(5)]
    for schedule in reversed(created):
        await any_repository.add(schedule)
    first = await any_repository.list_page(project_id, None, 2)
    rest = await any_repository.list_page(project_id, (first[-1].created_at, first[-1].id), 10)
    assert [s.id for s in first + rest] == [s.id for s in created]
    assert [s.id for s in await any_repository.list_project(project_id)] == [s.id for s in created]


async def test_keyset_pages_neither_repeat_nor_skip_while_schedules_change(any_repository: ScheduleRepository) -> None:
    project_id = new_id()
    created = [_schedule(project_id, IntervalTrigger(60), NOW + timedelta(seconds=i)) for i in range(5)]
    # Two schedules share a creation time: the id breaks the tie, so neither is lost at a page edge.
    created.append(_schedule(project_id, IntervalTrigger(60), NOW + timedelta(seconds=2)))
    for schedule in created:
        await any_repository.add(schedule)
    expected = sorted(created, key=lambda s: (s.created_at, s.id))
    seen: list[Schedule] = []
    after = None
    for round_ in range(10):
        page = await any_repository.list_page(project_id, after, 2)
        seen += page
        if len(page) < 2:
            break
        after = (page[-1].created_at, page[-1].id)
        if round_ == 0:  # one already read goes: an offset would now skip the next one
            assert await any_repository.remove(project_id, page[0].id)
        added = _schedule(project_id, IntervalTrigger(60), NOW + timedelta(minutes=10 + round_))
        await any_repository.add(added)  # created while paging: it comes last, once
        expected.append(added)
    assert [s.id for s in seen] == [s.id for s in expected]


async def test_remove(any_repository: ScheduleRepository) -> None:
    schedule = _schedule(new_id(), IntervalTrigger(60))
    await any_repository.add(schedule)
    assert await any_repository.remove(schedule.project_id, schedule.id) is True
    assert await any_repository.remove(schedule.project_id, schedule.id) is False
    assert await any_repository.get(schedule.project_id, schedule.id) is None


async def test_record_run_keeps_the_newest_outcome(any_repository: ScheduleRepository) -> None:
    schedule = _schedule(new_id(), IntervalTrigger(60))
    await any_repository.add(schedule)
    ran_at, next_run = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)
    assert await any_repository.record_run(schedule.project_id, schedule.id, ran_at, "sent message m1", next_run)
    stale = await any_repository.record_run(schedule.project_id, schedule.id, NOW, "sent message old", None)
    assert stale is False
    stored = await any_repository.get(schedule.project_id, schedule.id)
    assert stored is not None
    assert (stored.last_run_at, stored.last_run_outcome, stored.next_run_at) == (ran_at, "sent message m1", next_run)


def test_migrations_are_idempotent(database: Database) -> None:
    upgrade_to_head(database.engine, MIGRATIONS_DIR, SCHEMA)
