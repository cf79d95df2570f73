"""One firing: send through the agents port, record the outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
