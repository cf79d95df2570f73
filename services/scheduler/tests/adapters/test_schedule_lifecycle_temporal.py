"""The schedule lifecycle on the real Temporal dev server: update, pause, trigger, describe, reconcile.

The engine cases run over the fake too, so it stays honest; the firing cases
run the real worker with a fake agents service.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleOverlapPolicy,
    WorkflowExecutionStatus,
)

from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_devstack.waiting import eventually, never
from agentmesh_scheduler.activities import ScheduleActivities
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine
from agentmesh_scheduler.adapters.repository import SqlScheduleRepository
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.models import (
    CronTrigger,
    IntervalTrigger,
    OverlapPolicy,
    Schedule,
    ScheduleDraft,
    SchedulePatch,
    temporal_schedule_id,
)
from agentmesh_scheduler.domain.ports import ScheduleEngine
from agentmesh_scheduler.domain.reconcile import ScheduleReconciler
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.worker import build_worker


def _schedule(**changes: object) -> Schedule:
    project_id, schedule_id = new_id(), new_id()
    schedule = Schedule(
        id=schedule_id,
        project_id=project_id,
        agent_id=new_id(),
        trigger=IntervalTrigger(3600),
        time_zone="UTC",
        payload={"task": "report"},
        enabled=True,
        temporal_schedule_id=temporal_schedule_id(project_id, schedule_id),
        created_at=datetime.now(UTC),
    )
    return dataclasses.replace(schedule, **changes)


@pytest.fixture(params=["fake", "temporal"])
def any_engine(request: pytest.FixtureRequest, temporal_client: Client, task_queue: str) -> ScheduleEngine:
    if request.param == "fake":
        return FakeScheduleEngine()
    return TemporalScheduleEngine(task_queue, temporal_client)


async def test_update_pause_and_describe(any_engine: ScheduleEngine) -> None:
    schedule = _schedule()
    await any_engine.create(schedule)
    try:
        described = await any_engine.describe(schedule.temporal_schedule_id)
        assert (described.paused, described.revision, len(described.next_runs) > 0) == (False, 0, True)
        changed = dataclasses.replace(schedule, trigger=CronTrigger("0 9 * * *"), revision=1)
        await any_engine.update(changed, rearm=False)
        assert (await any_engine.describe(schedule.temporal_schedule_id)).revision == 1
        await any_engine.set_paused(schedule.temporal_schedule_id, True, "disabled through agentmesh")
        paused = await any_engine.describe(schedule.temporal_schedule_id)
        assert paused.paused and paused.next_runs == ()
        await any_engine.set_paused(schedule.temporal_schedule_id, False, "enabled through agentmesh")
        assert not (await any_engine.describe(schedule.temporal_schedule_id)).paused
        assert schedule.temporal_schedule_id in await any_engine.schedule_ids()
    finally:
        await any_engine.delete(schedule.temporal_schedule_id)


async def test_temporal_keeps_policy_note_and_task_queue(temporal_client: Client, task_queue: str) -> None:
    engine = TemporalScheduleEngine(task_queue, temporal_client)
    other = TemporalScheduleEngine(f"{task_queue}-other", temporal_client)
    mine = _schedule(overlap=OverlapPolicy.BUFFER_ONE, catchup_window_seconds=90)
    theirs = _schedule()
    await engine.create(mine)
    await other.create(theirs)
    try:
        await engine.set_paused(mine.temporal_schedule_id, True, "disabled through agentmesh")
        description = await temporal_client.get_schedule_handle(mine.temporal_schedule_id).describe()
        assert description.schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE
        assert description.schedule.policy.catchup_window == timedelta(seconds=90)
        assert description.schedule.state.note == "disabled through agentmesh"

        # The schedule list comes from Temporal's visibility store, a moment behind.
        async def listed() -> list[str] | None:
            ids = await engine.schedule_ids()
            return ids if mine.temporal_schedule_id in ids else None

        ids = await eventually(listed, timeout=10, interval=0.2, what="the schedule in Temporal's list")
        assert theirs.temporal_schedule_id not in ids
    finally:
        await engine.delete(mine.temporal_schedule_id)
        await other.delete(theirs.temporal_schedule_id)


async def test_reconcile_recreates_a_lost_temporal_schedule(
    temporal_client: Client, task_queue: str, sql_repository: SqlScheduleRepository
) -> None:
    engine = TemporalScheduleEngine(task_queue, temporal_client)
    schedule = _schedule(enabled=False)
    await sql_repository.add(schedule)
    report = await ScheduleReconciler(sql_repository, engine).reconcile()
    try:
        assert report.created == 1
        assert (await engine.describe(schedule.temporal_schedule_id)).paused
    finally:
        await engine.delete(schedule.temporal_schedule_id)


async def test_enable_fires_pause_stops_trigger_fires_at_once(
    temporal_client: Client,
    sql_repository: SqlScheduleRepository,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    task_queue = f"scheduler-test-{uuid.uuid4().hex[:12]}"
    engine = TemporalScheduleEngine(task_queue, temporal_client)
    scheduler = Scheduler(sql_repository, engine, agents)
    async with build_worker(temporal_client, task_queue, ScheduleActivities(sql_repository, engine, agents)):
        draft = ScheduleDraft(agent_id, IntervalTrigger(1), "UTC", "ping", enabled=False)
        schedule = await scheduler.create(admin, project_id, draft)
        try:
            # Nothing may happen here and nothing later proves it did not: watch the whole window.
            why = "a paused 1 s schedule has no run to wait for instead"
            await never(lambda: agents.sent, within=2.5, interval=0.1, why=why, what="a disabled schedule firing")
            await scheduler.update(admin, project_id, schedule.id, SchedulePatch(enabled=True))
            await eventually(lambda: len(agents.sent) >= 2, timeout=10, interval=0.1, what="the enabled schedule")

            await scheduler.update(admin, project_id, schedule.id, SchedulePatch(enabled=False))
            # A run started just before the pause may still send: wait until every run the
            # schedule started has closed. The schedule's own running list is refreshed lazily
            # while paused, so each run's workflow is asked directly (strongly consistent).
            handle = temporal_client.get_schedule_handle(temporal_schedule_id(project_id, schedule.id))

            async def settled() -> bool:
                description = await handle.describe()
                assert description.schedule.state.paused, "Temporal does not show the pause yet"
                for result in description.info.recent_actions:
                    started = result.action
                    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
                    run = temporal_client.get_workflow_handle(
                        started.workflow_id, run_id=started.first_execution_run_id
                    )
                    shown = await run.describe()
                    pending = shown.raw_description.pending_activities
                    assert shown.status != WorkflowExecutionStatus.RUNNING, f"{started.workflow_id} runs: {pending}"
                return True

            await eventually(settled, timeout=20, interval=0.2, what="the runs started before the pause to end")
            paused_at = len(agents.sent)
            await never(
                lambda: len(agents.sent) > paused_at, within=3, interval=0.1, why=why, what="the paused schedule firing"
            )

            started = time.monotonic()
            await scheduler.trigger(admin, project_id, schedule.id)
            await eventually(lambda: len(agents.sent) > paused_at, timeout=5, interval=0.1, what="the triggered run")
            fired_after = time.monotonic() - started
            assert fired_after < 3, f"trigger fired after {fired_after:.1f} s"

            async def recorded() -> object:
                shown = await scheduler.get(admin, project_id, schedule.id)
                return shown if len(shown.recent_runs) >= paused_at + 1 else None

            shown = await eventually(recorded, timeout=5, interval=0.1, what="the runs to be recorded")
            assert len(shown.recent_runs) == len(agents.sent)
            assert all(run.outcome.startswith("sent message ") for run in shown.recent_runs)
            assert shown.next_runs == ()  # paused
        finally:
            await scheduler.delete(admin, project_id, schedule.id)
