"""A schedule whose target is a job, on PostgreSQL and the real Temporal dev server (fake agents).

Each firing of a 1 s schedule starts one job through the Jobs use case; the jobs
run on the same worker and complete with the fake agents' replies.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Replayer

from agentmesh_core.identity import Identity
from agentmesh_db.database import Database
from agentmesh_devstack.waiting import eventually
from agentmesh_scheduler.activities import JobActivities, ScheduleActivities
from agentmesh_scheduler.adapters.fakes import FakeAgents
from agentmesh_scheduler.adapters.job_repository import SqlJobRepository
from agentmesh_scheduler.adapters.repository import SqlScheduleRepository
from agentmesh_scheduler.adapters.temporal_jobs import TemporalJobEngine
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.jobs import Job, JobDraft, JobStatus, StepDraft
from agentmesh_scheduler.domain.models import IntervalTrigger, ScheduleDraft
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.worker import WORKFLOWS, build_worker

# Feeds the unit suite's replay tests (refresh: AGENTMESH_RECORD_HISTORIES=1).
RECORDED_HISTORY = Path(__file__).parents[1] / "unit" / "histories" / "scheduled_job.json"


async def test_a_job_schedule_fires_and_each_firing_runs_one_job(
    temporal_client: Client, database: Database, sql_repository: SqlScheduleRepository, agents: FakeAgents,
    admin: Identity, project_id: str, agent_id: str,
) -> None:  # fmt: skip
    task_queue = f"scheduler-test-{uuid.uuid4().hex[:12]}"
    job_repository = SqlJobRepository(database)
    jobs = Jobs(job_repository, TemporalJobEngine(task_queue, temporal_client), agents)
    engine = TemporalScheduleEngine(task_queue, temporal_client)
    scheduler = Scheduler(sql_repository, engine, agents)
    template = JobDraft(
        "digest",
        (StepDraft("fetch", agent_id, "fetch"), StepDraft("sum", agent_id, "sum {{steps.fetch.output}}", ("fetch",))),
    )
    worker = build_worker(
        temporal_client,
        task_queue,
        ScheduleActivities(sql_repository, engine, agents, jobs),
        JobActivities(job_repository, agents),
    )
    async with worker:
        schedule = await scheduler.create(
            admin, project_id, ScheduleDraft("", IntervalTrigger(1), "UTC", None, True, job=template)
        )
        try:
            stored = await sql_repository.get(project_id, schedule.id)
            assert stored is not None and stored.job == schedule.job and stored.agent_id is None

            async def completed_jobs() -> list[Job] | None:
                listed = await job_repository.list_page(project_id, JobStatus.COMPLETED, None, 50)
                return listed if len(listed) >= 2 else None

            done = await eventually(completed_jobs, timeout=60, interval=0.2, what="two scheduled jobs to complete")

            async def recorded() -> list[str] | None:
                runs = await sql_repository.recent_runs(project_id, schedule.id, 50)
                return [run.outcome for run in runs] if len(runs) >= 2 else None

            outcomes = await eventually(recorded, timeout=30, interval=0.2, what="the runs' outcomes")
            # A firing's history replays (and is kept for the unit suite's replay tests).
            workflow_id, _, run_id = done[0].idempotency_key.rpartition(":")
            history = await temporal_client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            assert (await Replayer(workflows=WORKFLOWS).replay_workflow(history)).replay_failure is None
            if os.environ.get("AGENTMESH_RECORD_HISTORIES") == "1":
                RECORDED_HISTORY.write_text(history.to_json())
        finally:
            await scheduler.delete(admin, project_id, schedule.id)

    for job in done:
        assert job.name == "digest" and job.idempotency_key.startswith(f"{schedule.temporal_schedule_id}-")
        fetch, summed = job.steps
        assert (fetch.output, summed.sent_input) == ("done: fetch", "sum done: fetch")
        assert summed.output == "done: sum done: fetch"
        # One message per step, never a second one for the same firing.
        assert [m.content for m in agents.sent if m.correlation_id == job.id] == ["fetch", "sum done: fetch"]
    assert len({job.idempotency_key for job in done}) == len(done)
    # Nothing went out as a plain scheduled message: every message belongs to a job.
    every_job = await job_repository.list_page(project_id, None, None, 100)
    assert {m.correlation_id for m in agents.sent} <= {job.id for job in every_job}
    # Each run says which job it started.
    assert all(outcome.startswith("started job ") for outcome in outcomes), outcomes
    assert {outcome.removeprefix("started job ") for outcome in outcomes} <= {job.id for job in every_job}
