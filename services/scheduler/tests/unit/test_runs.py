"""One firing: send through the agents port, record the outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_core.errors import PermissionDenied, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.domain.models import IntervalTrigger, ScheduleDraft
from agentmesh_scheduler.domain.runs import ScheduleRuns, failed_outcome
from agentmesh_scheduler.domain.scheduler import Scheduler

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def _create(scheduler: Scheduler, admin: Identity, project_id: str, agent_id: str):
    draft = ScheduleDraft(agent_id, IntervalTrigger(60), "UTC", "daily report please", True)
    return await scheduler.create(admin, project_id, draft)


async def test_send_delivers_payload_with_correlation_and_key(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    runs = ScheduleRuns(repository, engine, agents, clock=lambda: NOW)
    args = {
        "project_id": project_id,
        "schedule_id": schedule.id,
        "agent_id": agent_id,
        "payload": schedule.payload,
        "idempotency_key": "wf:run",
    }
    outcome = await runs.send(**args)
    # A retried activity sends with the same key and gets the same message back.
    assert await runs.send(**args) == outcome
    assert len(agents.sent) == 1
    sent = agents.sent[0]
    assert outcome == f"sent message {sent.message_id}"
    assert (sent.content, sent.correlation_id, sent.idempotency_key) == (schedule.payload, schedule.id, "wf:run")


async def test_send_skips_a_deleted_schedule(
    repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, agents: FakeAgents, project_id: str
) -> None:
    runs = ScheduleRuns(repository, engine, agents)
    outcome = await runs.send(project_id=project_id, schedule_id="gone", agent_id="a", payload="x", idempotency_key="k")
    assert outcome.startswith("skipped")
    assert agents.sent == []


async def test_record_stores_outcome_and_next_run(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    next_run = NOW + timedelta(seconds=60)
    engine.next_runs[schedule.temporal_schedule_id] = next_run
    runs = ScheduleRuns(repository, engine, agents, clock=lambda: NOW)
    await runs.record(project_id=project_id, schedule_id=schedule.id, ran_at=NOW, outcome=failed_outcome("boom"))
    stored = repository.rows[schedule.id]
    assert (stored.last_run_at, stored.last_run_outcome, stored.next_run_at) == (NOW, "failed: boom", next_run)
    # An older run recorded late does not overwrite the newer outcome.
    earlier = NOW - timedelta(minutes=1)
    await runs.record(project_id=project_id, schedule_id=schedule.id, ran_at=earlier, outcome="sent message old")
    assert repository.rows[schedule.id].last_run_outcome == "failed: boom"


async def test_record_ignores_a_deleted_schedule(
    repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, agents: FakeAgents, project_id: str
) -> None:
    runs = ScheduleRuns(repository, engine, agents)
    await runs.record(project_id=project_id, schedule_id="gone", ran_at=NOW, outcome="x")
    assert repository.rows == {}


async def test_a_failed_run_is_reported_once_to_the_monitor(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    runs = ScheduleRuns(repository, engine, agents, clock=lambda: NOW, reports=agents)
    failed = {"project_id": project_id, "schedule_id": schedule.id, "ran_at": NOW, "failure_key": "wf-1"}
    await runs.record(**failed, outcome=failed_outcome("the agent is paused"))
    await runs.record(**failed, outcome=failed_outcome("the agent is paused"))  # the activity retried
    await runs.record(
        project_id=project_id, schedule_id=schedule.id, ran_at=NOW, outcome="sent message m", failure_key="wf-2"
    )
    assert list(agents.failures) == ["wf-1"]
    report = agents.failures["wf-1"]
    assert (report.project_id, report.agent_id) == (project_id, agent_id)
    assert report.detail == f"schedule {schedule.id}: failed: the agent is paused"
    assert report.subject == f"schedule {schedule.id}"  # the monitor counts each schedule apart


async def test_a_run_whose_agent_is_gone_is_reported_without_it(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    agents.agents[project_id].discard(agent_id)
    runs = ScheduleRuns(repository, engine, agents, clock=lambda: NOW, reports=agents)
    failed = failed_outcome("agent not found")
    await runs.record(project_id=project_id, schedule_id=schedule.id, ran_at=NOW, outcome=failed, failure_key="wf-1")
    assert agents.failures["wf-1"].agent_id == ""
    assert repository.rows[schedule.id].last_run_outcome == failed


async def test_an_unreachable_monitor_retries_the_record_and_a_refusal_does_not(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await _create(scheduler, admin, project_id, agent_id)
    runs = ScheduleRuns(repository, engine, agents, clock=lambda: NOW, reports=agents)
    failed = {"project_id": project_id, "schedule_id": schedule.id, "ran_at": NOW, "outcome": failed_outcome("x")}
    agents.report_fails_with = Unavailable("agents service unavailable")
    with pytest.raises(Unavailable):  # the activity fails and Temporal retries it
        await runs.record(**failed, failure_key="wf-1")
    assert repository.rows[schedule.id].last_run_outcome == "failed: x"  # recorded all the same
    agents.report_fails_with = PermissionDenied("scheduler may not make this call")
    await runs.record(**failed, failure_key="wf-1")  # logged, not raised: the run's record finishes
    agents.report_fails_with = None
    await runs.record(**failed, failure_key="wf-1")
    assert list(agents.failures) == ["wf-1"]
