"""A tripped rule: the alert in the monitoring conversation, once across replicas; the pause when allowed."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository
from agentmesh_agents.adapters.monitor_fakes import InMemoryMonitorAgents, InMemorySystemEvents
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.model_config import validate_model_config
from agentmesh_agents.domain.models import (
    Agent,
    AgentStatus,
    Message,
    MessageFilter,
    MessageStatus,
    Participant,
    ParticipantType,
)
from agentmesh_agents.domain.monitoring.alerts import ALERT_PERFORMATIVE, Alerts
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind, SystemReporter
from agentmesh_agents.domain.monitoring.monitor import Monitor
from agentmesh_agents.domain.monitoring.rules import Rule, RuleBook
from agentmesh_agents.domain.monitoring.summary import Tally
from agentmesh_agents.domain.tool_models import ToolCallOutcome, ToolCallRecord
from agentmesh_core.errors import InvalidInput, Unavailable
from agentmesh_core.ids import new_id

PROJECT = "7a0c7d51-7a8f-4a43-9d1e-0b6f0f3c2a11"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
RULE = Rule(SystemEventKind.TURN_FAILED, 3, timedelta(minutes=10))


class Project:
    """One project's agents and log, and monitors (one per "replica") over them."""

    def __init__(self, pause_offenders: bool | None = None, with_monitor: bool = True) -> None:
        self.agents = InMemoryAgentRepository()
        self.messages = InMemoryMessageRepository(self.agents)
        self.worker = Agent(id=new_id(), project_id=PROJECT, name="worker", created_at=NOW)
        config = {} if pause_offenders is None else {"pause_offenders": pause_offenders}
        self.monitor_agent = Agent(
            id=new_id(), project_id=PROJECT, name="monitor", agent_type="monitor", model_config=config, created_at=NOW
        )
        self.agents.agents[self.worker.id] = self.worker
        if with_monitor:
            self.agents.agents[self.monitor_agent.id] = self.monitor_agent

    def replica(self) -> Monitor:
        alerts = Alerts(InMemoryMonitorAgents(self.agents), self.agents, self.messages, clock=lambda: NOW)
        return Monitor(RuleBook([RULE]), alerts, Tally(), clock=lambda: NOW)

    async def alerts(self) -> list:
        page = await self.messages.list(PROJECT, MessageFilter(conversation_id=self.monitor_agent.id), None, 100)
        return [m for m in page if m.performative == ALERT_PERFORMATIVE]

    def failures(self, n: int, agent_id: str | None = None) -> list[SystemEvent]:
        return [
            SystemEvent(
                id=f"turn-failed-{i}",
                kind=SystemEventKind.TURN_FAILED,
                project_id=PROJECT,
                occurred_at=NOW - timedelta(minutes=5) + timedelta(seconds=i),
                agent_id=agent_id or self.worker.id,
                detail="inference failed: boom",
            )
            for i in range(n)
        ]


async def test_the_alert_lands_in_the_monitoring_conversation_and_the_agent_stays_active() -> None:
    project = Project()
    monitor = project.replica()
    trips = [trip for event in project.failures(3) for trip in await monitor.observe(event)]
    assert len(trips) == 1
    (alert,) = await project.alerts()
    assert alert.conversation_id == project.monitor_agent.id
    assert alert.sender.type is ParticipantType.SYSTEM and alert.receiver.id == project.monitor_agent.id
    assert alert.status is MessageStatus.COMPLETE  # a record: no turn runs for it
    assert "'worker'" in alert.content["text"] and "3 failed turns within 10 minutes" in alert.content["text"]
    assert alert.content["alert"] == {
        "rule": RULE.name,
        "kind": "turn_failed",
        "count": 3,
        "window_seconds": 600.0,
        "agent_id": project.worker.id,
        "subject": "",
        "message_id": "",
        "detail": "inference failed: boom",
        "paused": False,
    }
    assert (await project.agents.get(PROJECT, project.worker.id)).status is AgentStatus.ACTIVE


async def test_the_agent_is_paused_when_the_project_allows_it(caplog: pytest.LogCaptureFixture) -> None:
    project = Project(pause_offenders=True)
    monitor = project.replica()
    with caplog.at_level(logging.WARNING):
        for event in project.failures(3):
            await monitor.observe(event)
    (alert,) = await project.alerts()
    assert alert.content["alert"]["paused"] is True and alert.content["text"].endswith("The agent is paused.")
    assert (await project.agents.get(PROJECT, project.worker.id)).status is AgentStatus.PAUSED
    assert any("monitoring alert:" in r.getMessage() for r in caplog.records)  # the log line


async def test_not_paused_when_the_project_says_no() -> None:
    project = Project(pause_offenders=False)
    monitor = project.replica()
    for event in project.failures(3):
        await monitor.observe(event)
    assert len(await project.alerts()) == 1
    assert (await project.agents.get(PROJECT, project.worker.id)).status is AgentStatus.ACTIVE


async def test_replicas_raise_one_alert_and_one_pause() -> None:
    project = Project(pause_offenders=True)
    replicas = [project.replica() for _ in range(3)]
    for event in project.failures(5):
        for replica in replicas:
            await replica.observe(event)
    assert len(await project.alerts()) == 1
    # An admin resumes the agent; a replica that restarts and replays the same events does not pause it again.
    worker = await project.agents.get(PROJECT, project.worker.id)
    await project.agents.update(dataclasses.replace(worker, status=AgentStatus.ACTIVE))
    restarted = project.replica()
    for event in project.failures(5):
        await restarted.observe(event)
    assert len(await project.alerts()) == 1
    assert (await project.agents.get(PROJECT, project.worker.id)).status is AgentStatus.ACTIVE


async def test_without_a_monitoring_agent_only_the_log_line(caplog: pytest.LogCaptureFixture) -> None:
    project = Project(with_monitor=False)
    monitor = project.replica()
    with caplog.at_level(logging.WARNING):
        for event in project.failures(3):
            await monitor.observe(event)
    assert not project.messages.messages
    assert any("has no monitoring agent" in r.getMessage() for r in caplog.records)


async def test_the_monitoring_agent_is_never_paused_by_its_own_alerts() -> None:
    project = Project(pause_offenders=True)
    monitor = project.replica()
    for event in project.failures(3, agent_id=project.monitor_agent.id):
        await monitor.observe(event)
    assert len(await project.alerts()) == 1
    assert (await project.agents.get(PROJECT, project.monitor_agent.id)).status is AgentStatus.ACTIVE


async def test_a_trip_older_than_two_windows_is_history() -> None:
    project = Project(pause_offenders=True)
    monitor = project.replica()
    old = [
        SystemEvent(f"old-{i}", SystemEventKind.TURN_FAILED, PROJECT, NOW - timedelta(hours=1), project.worker.id)
        for i in range(3)
    ]
    for event in old:
        assert await monitor.observe(event) == []
    assert await project.alerts() == []
    assert monitor.tally.figures(PROJECT, NOW - timedelta(days=1))[SystemEventKind.TURN_FAILED][project.worker.id] == 3


async def test_the_monitor_reads_its_feed_until_stopped() -> None:
    project = Project(pause_offenders=True)
    feed, stop = InMemorySystemEvents(), asyncio.Event()
    running = asyncio.create_task(project.replica().run(feed, stop))
    for event in project.failures(3):
        await feed.publish(event)
    for _ in range(100):
        if await project.alerts():
            break
        await asyncio.sleep(0.01)
    assert len(await project.alerts()) == 1
    stop.set()
    await asyncio.wait_for(running, timeout=5)


def test_pause_offenders_is_a_boolean_in_model_config() -> None:
    assert validate_model_config({"pause_offenders": True}, Limits()) == {"pause_offenders": True}
    with pytest.raises(InvalidInput, match="pause_offenders"):
        validate_model_config({"pause_offenders": "yes"}, Limits())


async def test_the_reporter_reports_failed_turns_and_refused_calls_only() -> None:
    events = InMemorySystemEvents()
    reporter = SystemReporter(events, clock=lambda: NOW)
    request = Message(
        id=new_id(),
        project_id=PROJECT,
        conversation_id=new_id(),
        sender=Participant(ParticipantType.USER, "user-1"),
        receiver=Participant(ParticipantType.AGENT, "agent-a"),
        content="hi",
    )
    await reporter.turn_failed(request, "agent-a", "inference failed: boom")
    await reporter.turn_failed(request, "agent-a", "inference failed: boom")  # a redelivery: the same event
    call = ToolCallRecord(new_id(), PROJECT, "agent-a", request.id, "clock", {}, ToolCallOutcome.ALLOWED, 1)
    await reporter.tool_call_ended(call)
    await reporter.tool_call_ended(dataclasses.replace(call, id=new_id(), outcome=ToolCallOutcome.REFUSED, error="no"))
    assert [(e.kind, e.agent_id, e.message_id, e.detail) for e in events.events] == [
        (SystemEventKind.TURN_FAILED, "agent-a", request.id, "inference failed: boom"),
        (SystemEventKind.TOOL_REFUSED, "agent-a", request.id, "clock: no"),
    ]


async def test_a_lost_system_event_never_fails_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    class Down:
        async def publish(self, event: SystemEvent) -> None:
            raise Unavailable("message bus unavailable")

    with caplog.at_level(logging.WARNING):
        await SystemReporter(Down()).report(Project().failures(1)[0])
    assert any("not published (Unavailable)" in r.getMessage() for r in caplog.records)


async def test_an_alert_the_database_refused_is_raised_later() -> None:
    project = Project(pause_offenders=True)
    real_add = project.messages.add
    refusals = [Unavailable("database unavailable")]

    async def flaky_add(message):
        if refusals:
            raise refusals.pop()
        return await real_add(message)

    project.messages.add = flaky_add  # type: ignore[method-assign]
    monitor = project.replica()
    for event in project.failures(3):
        await monitor.observe(event)
    assert await project.alerts() == []
    assert [trip.rule for trip in await monitor.retry()] == [RULE]
    assert len(await project.alerts()) == 1
    assert (await project.agents.get(PROJECT, project.worker.id)).status is AgentStatus.PAUSED
    assert await monitor.retry() == []


async def test_an_outage_is_not_the_agents_failure() -> None:
    events = InMemorySystemEvents()
    request = Project().failures(1)[0]
    message = Message(
        id=new_id(),
        project_id=PROJECT,
        conversation_id=new_id(),
        sender=Participant(ParticipantType.USER, "user-1"),
        receiver=Participant(ParticipantType.AGENT, request.agent_id),
        content="hi",
    )
    await SystemReporter(events).turn_failed(message, request.agent_id, "inference service unavailable")
    assert events.events == []
