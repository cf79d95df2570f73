"""The start-up reconcile: Temporal Schedules made to match their rows (the truth)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from agentmesh_core.errors import Unavailable
from agentmesh_core.ids import new_id
from agentmesh_scheduler.adapters.fakes import FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.domain.models import (
    IntervalTrigger,
    Schedule,
    parse_temporal_schedule_id,
    temporal_schedule_id,
)
from agentmesh_scheduler.domain.reconcile import ScheduleReconciler


def _schedule(**changes: object) -> Schedule:
    project_id, schedule_id = new_id(), new_id()
    schedule = Schedule(
        id=schedule_id,
        project_id=project_id,
        agent_id=new_id(),
        trigger=IntervalTrigger(60),
        time_zone="UTC",
        payload="report",
        enabled=True,
        temporal_schedule_id=temporal_schedule_id(project_id, schedule_id),
        created_at=datetime(2026, 11, 24, tzinfo=UTC),
    )
    return dataclasses.replace(schedule, **changes)


async def test_drift_of_every_kind_is_repaired() -> None:
    repository, engine = InMemoryScheduleRepository(), FakeScheduleEngine()
    missing, stale, unpaused, fine = _schedule(), _schedule(revision=3), _schedule(enabled=False), _schedule()
    for schedule in (missing, stale, unpaused, fine):
        await repository.add(schedule)
    for schedule in (stale, unpaused, fine):
        await engine.create(schedule)
    engine.schedules[stale.temporal_schedule_id] = dataclasses.replace(stale, revision=2, payload="old")
    engine.paused[unpaused.temporal_schedule_id] = (False, "")
    orphan = _schedule()
    await engine.create(orphan)

    report = await ScheduleReconciler(repository, engine).reconcile()

    assert (report.checked, report.created, report.rewritten, report.repaused, report.orphans_deleted) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert engine.schedules[missing.temporal_schedule_id] == missing
    assert engine.schedules[stale.temporal_schedule_id] == stale
    assert engine.paused[unpaused.temporal_schedule_id][0] is True
    assert orphan.temporal_schedule_id not in engine.schedules
    again = await ScheduleReconciler(repository, engine).reconcile()
    assert (again.created, again.rewritten, again.repaused, again.orphans_deleted) == (0, 0, 0, 0)


async def test_temporal_down_is_counted_not_raised() -> None:
    repository, engine = InMemoryScheduleRepository(), FakeScheduleEngine()
    await repository.add(_schedule())
    engine.fail_with = Unavailable("temporal unavailable")
    report = await ScheduleReconciler(repository, engine).reconcile()
    assert report.failed == 2  # the row, and the orphan search


def test_only_readable_ids_of_ours_are_parsed() -> None:
    project_id, schedule_id = new_id(), new_id()
    assert parse_temporal_schedule_id(temporal_schedule_id(project_id, schedule_id)) == (project_id, schedule_id)
    for other in ("nightly-backup", "project-x-schedule-y", f"project-{project_id}-job-{schedule_id}"):
        assert parse_temporal_schedule_id(other) is None
