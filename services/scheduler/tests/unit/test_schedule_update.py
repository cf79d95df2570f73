"""Updating and triggering schedules over in-memory fakes: fields, pause notes, undo on failure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentmesh_core.errors import FailedPrecondition, InvalidInput, NotFound, PermissionDenied, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_scheduler.adapters.fakes import FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.domain.models import (
    CronTrigger,
    IntervalTrigger,
    OneOffTrigger,
    OverlapPolicy,
    Schedule,
    ScheduleDraft,
    SchedulePatch,
)
from agentmesh_scheduler.domain.ports import EngineSchedule
from agentmesh_scheduler.domain.reconcile import ScheduleReconciler
from agentmesh_scheduler.domain.scheduler import CURRENT_READ_DELAYS, Scheduler

from ..conftest import NOW


async def _create(scheduler: Scheduler, admin: Identity, project_id: str, agent_id: str, **changes) -> Schedule:
    values = {"trigger": IntervalTrigger(60), "time_zone": "UTC", "payload": "report", "enabled": True, **changes}
    return await scheduler.create(admin, project_id, ScheduleDraft(agent_id, **values))


async def test_update_changes_the_given_fields_in_row_and_temporal(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    patch = SchedulePatch(
        trigger=CronTrigger("30 7 * * 1-5"),
        time_zone="Europe/Paris",
        payload={"report": "weekly"},
        overlap=OverlapPolicy.BUFFER_ONE,
        catchup_window_seconds=600,
    )
    updated = await scheduler.update(admin, project_id, schedule.id, patch)
    assert updated.trigger == CronTrigger("30 7 * * 1-5") and updated.time_zone == "Europe/Paris"
    assert updated.payload == {"report": "weekly"} and updated.enabled is True
    assert (updated.overlap, updated.catchup_window_seconds, updated.revision) == (OverlapPolicy.BUFFER_ONE, 600, 1)
    assert repository.rows[schedule.id].revision == 1
    assert engine.schedules[schedule.temporal_schedule_id].trigger == CronTrigger("30 7 * * 1-5")
    assert engine.paused[schedule.temporal_schedule_id] == (False, "")  # enabled untouched: no pause call


async def test_disable_and_enable_pause_and_unpause_with_a_note(
    scheduler: Scheduler, engine: FakeScheduleEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id, enabled=False)
    engine.next_runs[schedule.temporal_schedule_id] = NOW + timedelta(seconds=60)
    assert (await scheduler.get(admin, project_id, schedule.id)).next_runs == ()
    enabled = await scheduler.update(admin, project_id, schedule.id, SchedulePatch(enabled=True))
    assert engine.paused[schedule.temporal_schedule_id] == (False, "enabled through agentmesh")
    assert enabled.enabled and enabled.next_runs == (NOW + timedelta(seconds=60),)
    await scheduler.update(admin, project_id, schedule.id, SchedulePatch(enabled=False))
    assert engine.paused[schedule.temporal_schedule_id] == (True, "disabled through agentmesh")


async def test_a_write_is_read_back_once_temporal_shows_it(
    scheduler: Scheduler, engine: FakeScheduleEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    # Temporal acknowledges an unpause and an update a moment before its describe shows them.
    schedule = await _create(scheduler, admin, project_id, agent_id, enabled=False)
    engine.next_runs[schedule.temporal_schedule_id] = NOW + timedelta(seconds=60)
    stale = EngineSchedule(paused=True, next_runs=(), revision=0)
    answers = [stale, stale]
    current_describe = engine.describe

    async def lagging_describe(temporal_schedule_id: str) -> EngineSchedule:
        return answers.pop(0) if answers else await current_describe(temporal_schedule_id)

    engine.describe = lagging_describe  # type: ignore[method-assign]
    enabled = await scheduler.update(admin, project_id, schedule.id, SchedulePatch(enabled=True))
    assert answers == [] and enabled.next_runs == (NOW + timedelta(seconds=60),)


async def test_a_write_temporal_never_shows_is_answered_with_local_next_runs(
    scheduler: Scheduler, engine: FakeScheduleEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id, enabled=False)
    engine.next_runs[schedule.temporal_schedule_id] = NOW + timedelta(seconds=60)
    calls = 0

    async def stale_describe(temporal_schedule_id: str) -> EngineSchedule:
        nonlocal calls
        calls += 1
        return EngineSchedule(paused=True, next_runs=(), revision=0)

    engine.describe = stale_describe  # type: ignore[method-assign]
    enabled = await scheduler.update(admin, project_id, schedule.id, SchedulePatch(enabled=True))
    assert calls == len(CURRENT_READ_DELAYS) + 1
    assert len(enabled.next_runs) == 1  # computed from the row: every 60 s
    calls = 0
    await scheduler.get(admin, project_id, schedule.id)
    assert calls == 1  # a plain read is not retried


async def test_a_new_one_off_time_fires_again(
    scheduler: Scheduler, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    when = NOW + timedelta(hours=2)
    updated = await scheduler.update(admin, project_id, schedule.id, SchedulePatch(trigger=OneOffTrigger(when)))
    assert updated.trigger == OneOffTrigger(when)


async def test_an_empty_patch_changes_nothing(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    assert (await scheduler.update(admin, project_id, schedule.id, SchedulePatch())).revision == 0
    assert repository.rows[schedule.id].revision == 0


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (SchedulePatch(trigger=CronTrigger("61 * * * *")), "invalid cron"),
        (SchedulePatch(time_zone="Nowhere/Special"), "unknown time zone"),
        (SchedulePatch(catchup_window_seconds=5), "catchup_window_seconds"),
        (SchedulePatch(payload=""), "payload must not be empty"),
        (SchedulePatch(problems=("unknown update_mask path 'name'",)), "update_mask"),
    ],
)
async def test_bad_patches_are_invalid_and_change_nothing(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    admin: Identity,
    outsider: Identity,
    project_id: str,
    agent_id: str,
    patch: SchedulePatch,
    message: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    stored = repository.rows[schedule.id]
    with pytest.raises(NotFound, match="project not found"):
        await scheduler.update(outsider, project_id, schedule.id, patch)
    with pytest.raises(InvalidInput, match=message):
        await scheduler.update(admin, project_id, schedule.id, patch)
    assert repository.rows[schedule.id] == stored


async def test_members_may_not_update_or_trigger(
    scheduler: Scheduler, admin: Identity, member: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    with pytest.raises(PermissionDenied):
        await scheduler.update(member, project_id, schedule.id, SchedulePatch(enabled=False))
    with pytest.raises(PermissionDenied):
        await scheduler.trigger(member, project_id, schedule.id)


async def test_temporal_failure_undoes_the_row(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    engine.fail_next = [Unavailable("temporal unavailable")]
    with pytest.raises(Unavailable):
        await scheduler.update(admin, project_id, schedule.id, SchedulePatch(payload="changed", enabled=False))
    row = repository.rows[schedule.id]
    assert (row.payload, row.enabled, row.revision) == ("report", True, 2)
    assert engine.schedules[schedule.temporal_schedule_id] == row  # rewritten at the undo's revision
    assert engine.paused[schedule.temporal_schedule_id][0] is False


async def test_a_failed_undo_is_repaired_by_the_reconcile(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    real_update, calls = engine.update, []

    async def update_reaches_temporal_then_fails(updated: Schedule, *, rearm: bool) -> None:
        # The update lands but its answer is lost; the undo cannot reach Temporal at all.
        calls.append(updated.revision)
        if len(calls) == 1:
            await real_update(updated, rearm=rearm)
        raise Unavailable("temporal unavailable")

    engine.update = update_reaches_temporal_then_fails  # type: ignore[method-assign]
    with pytest.raises(Unavailable):
        await scheduler.update(admin, project_id, schedule.id, SchedulePatch(payload="changed", enabled=False))
    engine.update = real_update  # type: ignore[method-assign]
    row = repository.rows[schedule.id]
    assert (row.payload, row.revision) == ("report", 2)
    assert engine.schedules[schedule.temporal_schedule_id].payload == "changed"  # drifted

    report = await ScheduleReconciler(repository, engine).reconcile()
    assert (report.rewritten, report.failed) == (1, 0)
    assert engine.schedules[schedule.temporal_schedule_id] == row
    assert engine.paused[schedule.temporal_schedule_id][0] is False


async def test_a_concurrent_change_is_refused(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    original_update = repository.update

    async def raced(updated: Schedule, expected_revision: int) -> bool:
        return await original_update(updated, expected_revision + 1)

    repository.update = raced  # type: ignore[method-assign]
    with pytest.raises(FailedPrecondition):
        await scheduler.update(admin, project_id, schedule.id, SchedulePatch(enabled=False))


async def test_trigger_runs_now_and_recreates_a_lost_temporal_schedule(
    scheduler: Scheduler, engine: FakeScheduleEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    await scheduler.trigger(admin, project_id, schedule.id)
    engine.schedules.clear()
    await scheduler.trigger(admin, project_id, schedule.id)
    assert engine.triggered == [schedule.temporal_schedule_id] * 2
    assert schedule.temporal_schedule_id in engine.schedules


async def test_get_shows_recent_runs_newest_first(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    for minute in range(3):
        ran_at = NOW + timedelta(minutes=minute)
        for _ in range(2):  # a retried record is stored once
            await repository.record_run(project_id, schedule.id, ran_at, f"run {minute}", None, run_key=f"wf-{minute}")
    runs = (await scheduler.get(admin, project_id, schedule.id)).recent_runs
    assert [run.outcome for run in runs] == ["run 2", "run 1", "run 0"]
