"""ScheduledMessageWorkflow on the real Temporal dev server, with a fake agents service.

Each test runs its own worker on its own task queue.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Replayer

from agentmesh_core.errors import NotFound, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_devstack.waiting import eventually
from agentmesh_scheduler.activities import SCHEDULER_IDENTITY, ScheduleActivities
from agentmesh_scheduler.adapters.fakes import FakeAgents, InMemoryScheduleRepository
from agentmesh_scheduler.adapters.repository import SqlScheduleRepository
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.models import IntervalTrigger, Schedule, ScheduleDraft
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.worker import WORKFLOWS, build_worker

from .scheduled_runs import run_once, seed_schedule

RECORDED_HISTORY = Path(__file__).parents[1] / "unit" / "histories" / "scheduled_message_with_retry.json"


async def test_interval_schedule_fires_and_records_outcome(
    temporal_client: Client,
    task_queue: str,
    sql_repository: SqlScheduleRepository,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    engine = TemporalScheduleEngine(task_queue, temporal_client)
    scheduler = Scheduler(sql_repository, engine, agents)
    worker = build_worker(temporal_client, task_queue, ScheduleActivities(sql_repository, engine, agents))

    def fired_twice() -> bool:
        assert len(agents.sent) >= 2, f"fired {len(agents.sent)} times"
        return True

    async with worker:
        draft = ScheduleDraft(agent_id, IntervalTrigger(2), "UTC", {"task": "ping"}, enabled=True)
        schedule = await scheduler.create(admin, project_id, draft)
        try:
            await eventually(fired_twice, timeout=7.6, interval=0.2, what="two runs 2 s apart")
            stored = await _wait_for_outcome(sql_repository, project_id, schedule.id)
        finally:
            await scheduler.delete(admin, project_id, schedule.id)

    first, second = agents.sent[:2]
    assert first.content == {"task": "ping"} and first.correlation_id == schedule.id
    assert first.sent_as == SCHEDULER_IDENTITY
    assert first.idempotency_key != second.idempotency_key
    assert first.idempotency_key.startswith(f"{schedule.temporal_schedule_id}-")
    assert stored.last_run_outcome in {f"sent message {m.message_id}" for m in agents.sent}
    assert stored.last_run_at is not None and stored.next_run_at is not None
    assert stored.next_run_at > stored.last_run_at


async def _wait_for_outcome(repository: SqlScheduleRepository, project_id: str, schedule_id: str) -> Schedule:
    async def recorded() -> Schedule | None:
        stored = await repository.get(project_id, schedule_id)
        return stored if stored is not None and stored.last_run_outcome else None

    return await eventually(recorded, timeout=5, interval=0.1, what="the run's outcome to be recorded")


async def test_transient_failure_is_retried_with_the_same_key(
    temporal_client: Client, task_queue: str, agents: FakeAgents, project_id: str, agent_id: str
) -> None:
    repository = InMemoryScheduleRepository()
    schedule = seed_schedule(repository, project_id, agent_id)
    agents.fail_next = [Unavailable("agents unavailable")]
    _, outcome = await run_once(temporal_client, task_queue, repository, agents, schedule)
    assert agents.attempts == 2 and len(agents.sent) == 1
    assert outcome == f"sent message {agents.sent[0].message_id}"
    assert repository.rows[schedule.id].last_run_outcome == outcome


async def test_the_send_runs_inside_the_first_workflow_task(
    temporal_client: Client, task_queue: str, agents: FakeAgents, project_id: str, agent_id: str
) -> None:
    """A local activity: the message goes out before the run's first workflow task completes."""
    repository = InMemoryScheduleRepository()
    schedule = seed_schedule(repository, project_id, agent_id)
    handle, outcome = await run_once(temporal_client, task_queue, repository, agents, schedule)
    assert outcome == f"sent message {agents.sent[0].message_id}"
    events = (await handle.fetch_history()).events
    activities = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert activities == ["record_run_outcome"]
    # The events after the first workflow task's completion are its commands: the send's marker is there.
    completed = [i for i, e in enumerate(events) if e.HasField("workflow_task_completed_event_attributes")]
    first_commands = events[completed[0] + 1 : completed[1]]
    assert "core_local_activity" in {e.marker_recorded_event_attributes.marker_name for e in first_commands}


async def test_permanent_failure_is_recorded_without_retries(
    temporal_client: Client, task_queue: str, agents: FakeAgents, project_id: str, agent_id: str
) -> None:
    repository = InMemoryScheduleRepository()
    schedule = seed_schedule(repository, project_id, agent_id)
    agents.fail_with = NotFound("agent not found")
    _, outcome = await run_once(temporal_client, task_queue, repository, agents, schedule)
    assert outcome == "failed: agent not found" and agents.attempts == 1
    assert repository.rows[schedule.id].last_run_outcome == "failed: agent not found"


async def test_recorded_history_replays_deterministically(
    temporal_client: Client, task_queue: str, agents: FakeAgents, project_id: str, agent_id: str
) -> None:
    repository = InMemoryScheduleRepository()
    schedule = seed_schedule(repository, project_id, agent_id)
    agents.fail_next = [Unavailable("agents unavailable")]
    handle, _ = await run_once(temporal_client, task_queue, repository, agents, schedule)
    history = await handle.fetch_history()
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(history)
    assert result.replay_failure is None
    if os.environ.get("AGENTMESH_RECORD_HISTORIES") == "1":
        # Refreshes the history the unit suite replays without a server.
        RECORDED_HISTORY.write_text(history.to_json())
