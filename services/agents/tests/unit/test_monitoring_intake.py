"""System events reported by other services (the scheduler's failed runs): who may report
what, the validation, one event per occurrence, and the default rule's alert that pauses nobody."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository
from agentmesh_agents.adapters.monitor_fakes import InMemoryMonitorAgents, InMemorySystemEvents
from agentmesh_agents.domain.models import Agent, AgentStatus, MessageFilter
from agentmesh_agents.domain.monitoring.alerts import ALERT_PERFORMATIVE, Alerts
from agentmesh_agents.domain.monitoring.events import SystemEventKind
from agentmesh_agents.domain.monitoring.intake import SystemEventIntake
from agentmesh_agents.domain.monitoring.monitor import Monitor
from agentmesh_agents.domain.monitoring.rules import DEFAULT_RULES, RuleBook
from agentmesh_agents.domain.monitoring.summary import Tally
from agentmesh_agents.settings import AgentsSettings
from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id

PROJECT = "7a0c7d51-7a8f-4a43-9d1e-0b6f0f3c2a11"
OTHER_PROJECT = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SCHEDULER = Identity("scheduler", GlobalRole.SERVICE)
RUN = "schedule-abc-2026-01-01T12:00:00Z"


class World:
    def __init__(self) -> None:
        self.agents = InMemoryAgentRepository()
        self.events = InMemorySystemEvents()
        self.worker = Agent(id=new_id(), project_id=PROJECT, name="worker", created_at=NOW)
        self.monitor = Agent(
            id=new_id(),
            project_id=PROJECT,
            name="monitor",
            agent_type="monitor",
            model_config={"pause_offenders": True},
            created_at=NOW,
        )
        self.agents.agents[self.worker.id] = self.worker
        self.agents.agents[self.monitor.id] = self.monitor
        self.clock = NOW
        self.intake = SystemEventIntake(self.agents, self.events, clock=lambda: self.clock)

    async def report(self, identity: Identity = SCHEDULER, **fields):
        values = {
            "project_id": PROJECT,
            "kind": SystemEventKind.SCHEDULE_FAILED,
            "agent_id": self.worker.id,
            "detail": "schedule s1: failed: agent not found",
            "occurrence_key": RUN,
            "subject": "schedule s1",
        }
        return await self.intake.report(identity, **(values | fields))


@pytest.fixture
def world() -> World:
    return World()


async def test_a_failed_run_is_published_once_however_often_it_is_reported(world: World) -> None:
    first = await world.report()
    world.clock = NOW + timedelta(seconds=30)  # the activity's retry, later
    again = await world.report()
    assert first.id == again.id and first.id.startswith("schedule-failed-")
    (event,) = world.events.events
    assert event.kind is SystemEventKind.SCHEDULE_FAILED
    assert (event.project_id, event.agent_id) == (PROJECT, world.worker.id)
    assert event.detail == "schedule s1: failed: agent not found" and event.occurred_at == NOW
    assert event.subject == "schedule s1"
    other_run = await world.report(occurrence_key=RUN + "-next")
    assert other_run.id != first.id and len(world.events.events) == 2


@pytest.mark.parametrize(
    "identity",
    [
        Identity("gateway", GlobalRole.SERVICE),
        Identity("memory", GlobalRole.SERVICE),
        Identity("root", GlobalRole.SUPERADMIN),
        Identity("alice", GlobalRole.USER, project_id=PROJECT, project_role=ProjectRole.ADMIN),
        Identity("scheduler", GlobalRole.USER, project_id=PROJECT, project_role=ProjectRole.ADMIN),
    ],
)
async def test_only_the_scheduler_as_itself_may_report(world: World, identity: Identity) -> None:
    with pytest.raises(PermissionDenied):
        await world.report(identity)
    assert world.events.events == []


@pytest.mark.parametrize(
    "kind", [SystemEventKind.TURN_FAILED, SystemEventKind.QUOTA_REJECTED, SystemEventKind.MAILBOX_STALE]
)
async def test_the_scheduler_reports_only_its_own_kind(world: World, kind: SystemEventKind) -> None:
    with pytest.raises(PermissionDenied, match="may not report"):
        await world.report(kind=kind)
    assert world.events.events == []


@pytest.mark.parametrize(
    ("fields", "error", "text"),
    [
        ({"kind": None}, InvalidInput, "kind is required"),
        ({"project_id": ""}, InvalidInput, "project_id is required"),
        ({"occurrence_key": ""}, InvalidInput, "occurrence_key"),
        ({"occurrence_key": "  "}, InvalidInput, "occurrence_key"),
        ({"occurrence_key": "k" * 201}, InvalidInput, "occurrence_key"),
        ({"detail": "d" * 1001}, InvalidInput, "detail is at most 1000"),
        ({"subject": "s" * 101}, InvalidInput, "subject is at most 100"),
        ({"agent_id": new_id()}, NotFound, "agent not found"),
        ({"project_id": OTHER_PROJECT}, NotFound, "agent not found"),  # the agent is not that project's
        ({"project_id": OTHER_PROJECT, "agent_id": ""}, NotFound, "project not found"),
    ],
)
async def test_bad_reports_are_refused(world: World, fields: dict, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        await world.report(**fields)
    assert world.events.events == []


async def test_a_report_without_an_agent_is_the_projects(world: World) -> None:
    event = await world.report(agent_id="", detail="x" * 1000)
    assert event.agent_id == "" and len(event.detail) == 300  # the event keeps the first 300 characters


async def test_three_failed_runs_in_an_hour_alert_by_default_and_pause_nobody(world: World) -> None:
    """The default rules count schedule failures; the alert pauses no agent, even where the project allows it."""
    messages = InMemoryMessageRepository(world.agents)
    alerts = Alerts(InMemoryMonitorAgents(world.agents), world.agents, messages, clock=lambda: NOW)
    monitor = Monitor(RuleBook(DEFAULT_RULES), alerts, Tally(), clock=lambda: NOW)
    for n in range(3):
        world.clock = NOW + timedelta(minutes=10 * n)
        await monitor.observe(await world.report(occurrence_key=f"{RUN}-{n}"))
    page = await messages.list(PROJECT, MessageFilter(conversation_id=world.monitor.id), None, 10)
    (alert,) = [m for m in page if m.performative == ALERT_PERFORMATIVE]
    assert "3 failed schedule runs within 60 minutes" in alert.content["text"]
    assert "(schedule s1)" in alert.content["text"] and alert.content["alert"]["subject"] == "schedule s1"
    assert alert.content["alert"]["kind"] == "schedule_failed" and alert.content["alert"]["paused"] is False
    assert (await world.agents.get(PROJECT, world.worker.id)).status is AgentStatus.ACTIVE


def test_the_settings_default_rules_include_schedule_failures_and_read_pause() -> None:
    settings = AgentsSettings(database_url="postgresql://unused")
    for kind in (SystemEventKind.SCHEDULE_FAILED, SystemEventKind.JOB_FAILED):
        (rule,) = [r for r in settings.rules() if r.kind is kind]
        assert (rule.count, rule.window, rule.pause) == (3, timedelta(hours=1), False)
    configured = AgentsSettings.model_validate(
        {
            "database_url": "postgresql://unused",
            "monitor_rules": [{"kind": "turn_failed", "count": 2, "window_seconds": 60, "pause": False}],
        }
    )
    assert [r.pause for r in configured.rules()] == [False]


async def test_the_scheduler_reports_failed_jobs_too(world: World) -> None:
    event = await world.report(kind=SystemEventKind.JOB_FAILED, detail="job j1 failed at step a: boom")
    assert event.kind is SystemEventKind.JOB_FAILED and event.id.startswith("job-failed-")
    assert world.events.events == [event]


async def test_each_schedule_is_counted_apart(world: World) -> None:
    """Three schedules of one agent failing once each trip nothing; one schedule failing three times does."""
    book = RuleBook(DEFAULT_RULES)
    trips = []
    for n in range(3):
        event = await world.report(occurrence_key=f"{RUN}-{n}", subject=f"schedule s{n}")
        trips += book.observe(event)
    assert trips == []
    for n in range(3, 5):
        trips += book.observe(await world.report(occurrence_key=f"{RUN}-{n}", subject="schedule s0"))
    (trip,) = trips
    assert trip.event.subject == "schedule s0" and trip.key.startswith("monitor:schedule_failed-3-in-3600s:")
    assert ":schedule s0:" in trip.key
