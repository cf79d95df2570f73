"""A failed scheduled run is reported to the monitor, on the real Temporal dev server (the
agents service is the fake here; tests/e2e/test_monitoring_schedules.py runs the real one)."""

from __future__ import annotations

from temporalio.client import Client

from agentmesh_core.errors import Unavailable
from agentmesh_scheduler.activities import SCHEDULER_IDENTITY
from agentmesh_scheduler.adapters.fakes import FakeAgents, InMemoryScheduleRepository

from .scheduled_runs import run_once, seed_schedule


async def test_a_run_whose_agent_is_gone_is_reported_once_as_the_scheduler(
    temporal_client: Client, task_queue: str, agents: FakeAgents, project_id: str, agent_id: str
) -> None:
    repository = InMemoryScheduleRepository()
    schedule = seed_schedule(repository, project_id, agent_id)
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
    handle, outcome = await run_once(temporal_client, task_queue, repository, agents, schedule, report_failures=True)
    run = f"{handle.id}:{handle.result_run_id}"
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
    schedule = seed_schedule(repository, project_id, agent_id)
    _, outcome = await run_once(temporal_client, task_queue, repository, agents, schedule, report_failures=True)
    assert outcome.startswith("sent message ") and agents.failures == {}
