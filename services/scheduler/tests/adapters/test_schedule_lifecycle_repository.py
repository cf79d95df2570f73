"""Updates, revisions, recent runs and the reconcile walk over the fake and the real repository."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from agentmesh_core.ids import new_id
from agentmesh_scheduler.domain.models import (
    CronTrigger,
    IntervalTrigger,
    OverlapPolicy,
    Schedule,
    ScheduleRun,
    temporal_schedule_id,
)
from agentmesh_scheduler.domain.ports import ScheduleRepository

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def _schedule(project_id: str) -> Schedule:
    schedule_id = new_id()
    return Schedule(
        id=schedule_id,
        project_id=project_id,
        agent_id=new_id(),
        trigger=IntervalTrigger(60),
        time_zone="UTC",
        payload="report",
        enabled=True,
        temporal_schedule_id=temporal_schedule_id(project_id, schedule_id),
        created_at=NOW,
    )


async def test_update_writes_settings_only_at_the_expected_revision(any_repository: ScheduleRepository) -> None:
    schedule = _schedule(new_id())
    await any_repository.add(schedule)
    await any_repository.record_run(schedule.project_id, schedule.id, NOW, "sent message m1", None)
    changed = dataclasses.replace(
        schedule,
        trigger=CronTrigger("0 7 * * *"),
        time_zone="Asia/Tokyo",
        payload={"report": "weekly"},
        enabled=False,
        overlap=OverlapPolicy.ALLOW_ALL,
        catchup_window_seconds=60,
        revision=1,
        next_run_at=None,
    )
    assert await any_repository.update(changed, expected_revision=1) is False
    assert await any_repository.update(changed, expected_revision=0) is True
    stored = await any_repository.get(schedule.project_id, schedule.id)
    assert stored == dataclasses.replace(changed, last_run_at=NOW, last_run_outcome="sent message m1")
    assert await any_repository.update(dataclasses.replace(changed, project_id=new_id()), expected_revision=1) is False


async def test_runs_are_kept_once_per_key_newest_first(any_repository: ScheduleRepository) -> None:
    schedule = _schedule(new_id())
    await any_repository.add(schedule)
    for minute in (0, 2, 1):
        for _ in range(2):
            ran_at = NOW + timedelta(minutes=minute)
            await any_repository.record_run(
                schedule.project_id, schedule.id, ran_at, f"run {minute}", None, run_key=f"wf-{minute}"
            )
    runs = await any_repository.recent_runs(schedule.project_id, schedule.id, 2)
    assert runs == [ScheduleRun(NOW + timedelta(minutes=2), "run 2"), ScheduleRun(NOW + timedelta(minutes=1), "run 1")]
    assert await any_repository.recent_runs(new_id(), schedule.id, 5) == []
    assert (await any_repository.get(schedule.project_id, schedule.id)).last_run_outcome == "run 2"
    assert await any_repository.remove(schedule.project_id, schedule.id)
    assert await any_repository.recent_runs(schedule.project_id, schedule.id, 5) == []


async def test_list_all_walks_every_project_by_id(any_repository: ScheduleRepository) -> None:
    made = [_schedule(new_id()) for _ in range(5)]
    for schedule in made:
        await any_repository.add(schedule)
    seen, after = [], ""
    while batch := await any_repository.list_all(after, 2):
        seen += [schedule.id for schedule in batch]
        after = batch[-1].id
    assert seen == sorted(schedule.id for schedule in made)
