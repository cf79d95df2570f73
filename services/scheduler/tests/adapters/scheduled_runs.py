"""One scheduled run on the Temporal dev server, for the workflow and failure-report tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowHandle

from agentmesh_core.ids import new_id
from agentmesh_scheduler.activities import ScheduleActivities
from agentmesh_scheduler.adapters.fakes import FakeAgents, InMemoryScheduleRepository
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.models import IntervalTrigger, Schedule, temporal_schedule_id
from agentmesh_scheduler.worker import build_worker
from agentmesh_scheduler.workflows import ScheduledMessageInput, ScheduledMessageWorkflow


def seed_schedule(repository: InMemoryScheduleRepository, project_id: str, agent_id: str) -> Schedule:
    """An hourly message schedule stored in the repository."""
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


async def run_once(
    client: Client,
    task_queue: str,
    repository: InMemoryScheduleRepository,
    agents: FakeAgents,
    schedule: Schedule,
    *,
    report_failures: bool = False,
) -> tuple[WorkflowHandle, str]:
    """Start the schedule's run workflow once (as a firing would) and wait for its outcome."""
    reports = agents if report_failures else None
    activities = ScheduleActivities(repository, TemporalScheduleEngine(task_queue, client), agents, reports=reports)
    async with build_worker(client, task_queue, activities):
        handle = await client.start_workflow(
            ScheduledMessageWorkflow.run,
            ScheduledMessageInput(
                schedule.project_id, schedule.id, schedule.agent_id or "", json.dumps(schedule.payload)
            ),
            id=f"{schedule.temporal_schedule_id}-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        outcome = await handle.result()
    return handle, outcome
