"""A failed scheduled run is reported to the monitor, on the real Temporal dev server (the
agents service is the fake here; tests/e2e/test_monitoring_schedules.py runs the real one)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from temporalio.client import Client

from agentmesh_core.errors import Unavailable
from agentmesh_core.ids import new_id
from agentmesh_scheduler.activities import SCHEDULER_IDENTITY, ScheduleActivities
from agentmesh_scheduler.adapters.fakes import FakeAgents, InMemoryScheduleRepository
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.models import IntervalTrigger, Schedule, temporal_schedule_id
from agentmesh_scheduler.worker import build_worker
from agentmesh_scheduler.workflows import ScheduledMessageInput, ScheduledMessageWorkflow


def _schedule(repository: InMemoryScheduleRepository, project_id: str, agent_id: str) -> Schedule:
    schedule_id = new_id()
    schedule = Schedule(
        id=schedule_id,
        project_id=project_id,
        agent_id=agent_id,
        trigger=IntervalTrigger(3600),
        time_zone="UTC",
        payload="write the report",
        enabled=True,
        temporal_schedule_id=temporal_schedule_id(project_id, schedule_id),
        created_at=datetime.now(UTC),
    )
    repository.rows[schedule.id] = schedule
    return schedule


async def _run(client: Client, task_queue: str, agents: FakeAgents, schedule: Schedule, repository) -> tuple[str, str]:
    activities = ScheduleActivities(repository, TemporalScheduleEngine(task_queue, client), agents, reports=agents)
    async with build_worker(client, task_queue, activities):
        handle = await client.start_workflow(
            ScheduledMessageWorkflow.run,
            ScheduledMessageInput(schedule.project_id, schedule.id, schedule.agent_id or "", json.dumps("x")),
            id=f"{schedule.temporal_schedule_id}-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        outcome = await handle.result()
        return f"{handle.id}:{handle.result_run_id}", outcome


async def test_a_run_whose_agent_is_gone_is_reported_once_as_the_scheduler(
    temporal_client: Client, task_queue: str, agents: FakeAgents, project_id: str, agent_id: str
) -> None:
    repository = InMemoryScheduleRepository()
    schedule = _schedule(repository, project_id, agent_id)
    agents.agents[project_id].discard(agent_id)  # deleted since the schedule was made
    agents.report_fails_with = Unavailable("agents service unavailable")
    original = agents.failed

    async def flaky(what, **fields: str) -> None:
        """The first report finds the agents service down (the record activity is retried); then it is back."""
        try:
            await original(what, **fields)
        finally:
            agents.report_fails_with = None

    agents.failed = flaky  # type: ignore[method-assign]
    run, outcome = await _run(temporal_client, task_queue, agents, schedule, repository)
    assert outcome == "failed: agent not found" and agents.sent == []
    assert repository.rows[schedule.id].last_run_outcome == outcome
    report = agents.failures[run]  # the run's workflow and run ids are the occurrence key
    assert list(agents.failures) == [run]
    assert (report.project_id, report.agent_id, report.identity) == (project_id, "", SCHEDULER_IDENTITY)
    assert report.detail == f"schedule {schedule.id}: failed: agent not found"


async def test_a_run_that_sent_its_message_reports_nothing(
    temporal_client: Client, task_queue: str, agents: FakeAgents, project_id: str, agent_id: str
) -> None:
    repository = InMemoryScheduleRepository()
    schedule = _schedule(repository, project_id, agent_id)
    _, outcome = await _run(temporal_client, task_queue, agents, schedule, repository)
    assert outcome.startswith("sent message ") and agents.failures == {}
