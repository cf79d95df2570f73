"""The staleness sweep's reports and the daily health summary (figures counted, the model only phrases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentmesh_agents.adapters.fakes import (
    InMemoryAgentRepository,
    InMemoryConversationEvents,
    InMemoryMailbox,
    InMemoryMessageRepository,
)
from agentmesh_agents.adapters.monitor_fakes import InMemoryMonitorAgents, InMemorySystemEvents, StaticStaleWork
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.messaging import Messaging
from agentmesh_agents.domain.models import Agent, MessageStatus
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind, SystemReporter
from agentmesh_agents.domain.monitoring.staleness import StalenessSweep, WaitingWork
from agentmesh_agents.domain.monitoring.summary import SUMMARY_PERFORMATIVE, DailySummary, Tally
from agentmesh_core.ids import new_id

PROJECT = "7a0c7d51-7a8f-4a43-9d1e-0b6f0f3c2a11"
OTHER = "0d7f7e0c-4f3e-4a57-8a4e-2d0c9b1e6f01"
NOW = datetime(2026, 1, 2, 7, 0, tzinfo=UTC)


async def test_the_sweep_reports_old_waiting_work_with_stable_ids() -> None:
    waiting = [
        WaitingWork(PROJECT, "agent-a", "m-old", NOW - timedelta(minutes=20)),
        WaitingWork(PROJECT, "agent-b", "m-new", NOW - timedelta(minutes=1)),
    ]
    parked = [WaitingWork(PROJECT, "agent-c", "m-parked", NOW - timedelta(hours=7))]
    events = InMemorySystemEvents()
    sweep = StalenessSweep(
        StaticStaleWork(waiting, parked),
        SystemReporter(events),
        mailbox_max_age=timedelta(minutes=15),
        parked_max_age=timedelta(hours=6),
        clock=lambda: NOW,
    )
    assert await sweep.sweep() == 2
    assert await sweep.sweep() == 2  # reported again; the same ids (the stream and the rules count them once)
    assert [(e.id, e.kind, e.agent_id, round(e.age_seconds)) for e in events.events] == [
        ("mailbox_stale-m-old", SystemEventKind.MAILBOX_STALE, "agent-a", 1200),
        ("turn_parked_long-m-parked", SystemEventKind.TURN_PARKED_LONG, "agent-c", 7 * 3600),
    ]
    assert events.events[0].detail == "message m-old has waited 20 minutes"


def _event(n: int, kind: SystemEventKind, agent: str, at: datetime, project: str = PROJECT) -> SystemEvent:
    return SystemEvent(f"{kind.value}-{n}", kind, project, at, agent)


def test_the_tally_counts_a_day_per_project_kind_and_agent() -> None:
    tally = Tally()
    for n in range(3):
        tally.add(_event(n, SystemEventKind.TURN_FAILED, "a", NOW - timedelta(hours=n)))
    tally.add(_event(0, SystemEventKind.TURN_FAILED, "a", NOW))  # a replayed event: counted once
    tally.add(_event(9, SystemEventKind.TOOL_REFUSED, "b", NOW - timedelta(hours=2)))
    tally.add(_event(7, SystemEventKind.TURN_FAILED, "a", NOW - timedelta(hours=30)))  # older than a day
    tally.add(_event(8, SystemEventKind.TURN_FAILED, "a", NOW, project=OTHER))
    figures = tally.figures(PROJECT, NOW - timedelta(days=1))
    assert figures == {SystemEventKind.TURN_FAILED: {"a": 3}, SystemEventKind.TOOL_REFUSED: {"b": 1}}
    tally.forget_before(NOW + timedelta(hours=23))
    assert tally.figures(PROJECT, NOW - timedelta(days=2)) == {SystemEventKind.TURN_FAILED: {"a": 1}}


async def test_each_monitoring_agent_gets_one_summary_request_a_day() -> None:
    agents = InMemoryAgentRepository()
    messages = InMemoryMessageRepository(agents)
    mailbox = InMemoryMailbox()
    messaging = Messaging(agents, messages, mailbox, InMemoryConversationEvents(), Limits(), lambda: NOW)
    worker = Agent(new_id(), PROJECT, "worker")
    monitor = Agent(new_id(), PROJECT, "monitor", agent_type="monitor")
    quiet_monitor = Agent(new_id(), OTHER, "monitor", agent_type="monitor")
    for agent in (worker, monitor, quiet_monitor):
        await agents.add(agent)
    tally = Tally()
    for n in range(4):
        tally.add(_event(n, SystemEventKind.TURN_FAILED, worker.id, NOW - timedelta(hours=n)))
    tally.add(_event(5, SystemEventKind.QUOTA_REJECTED, "", NOW - timedelta(hours=1)))
    summary = DailySummary(tally, InMemoryMonitorAgents(agents), agents, messaging, hour=6, clock=lambda: NOW)

    first = await summary.send(NOW)
    again = await summary.send(NOW)  # another replica, or a restart the same day
    assert [m.id for m in first] == [m.id for m in again]
    assert len(mailbox.take()) == 2  # posted once each: the monitoring agents' models write the summaries
    by_project = {m.project_id: m for m in first}
    request = by_project[PROJECT]
    assert request.conversation_id == monitor.id and request.receiver.id == monitor.id
    assert request.performative == SUMMARY_PERFORMATIVE and request.status is MessageStatus.QUEUED
    assert "- turn_failed: 4 (worker: 4)" in request.content
    assert "- quota_rejected: 1 (the project: 1)" in request.content
    assert "nothing went wrong" in by_project[OTHER].content
