"""Quota rejections reach the monitor: one event per project per minute, the rejection itself unchanged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_agents.adapters.monitor_fakes import InMemorySystemEvents
from agentmesh_agents.adapters.system_events import ReportingAdmission, ReportingBacklog
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.monitoring.events import SystemEventKind, SystemReporter
from agentmesh_agents.domain.monitoring.rules import DEFAULT_RULES, RuleBook
from agentmesh_core.errors import ResourceExhausted

PROJECT = "7a0c7d51-7a8f-4a43-9d1e-0b6f0f3c2a11"
OTHER = "0d7f7e0c-4f3e-4a57-8a4e-2d0c9b1e6f01"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Deep:
    """A queue that is always full for the project."""

    async def unanswered(self, project_id: str) -> tuple[int, int]:
        return (10, 10) if project_id == PROJECT else (0, 10)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_rate_rejections_are_reported_once_a_minute_per_project() -> None:
    events, clock = InMemorySystemEvents(), Clock()
    admission = ReportingAdmission("2/minute", SystemReporter(events, clock))
    admission.sending(PROJECT)
    admission.sending(PROJECT)
    for _ in range(3):
        with pytest.raises(ResourceExhausted):
            admission.sending(PROJECT)
    admission.sending(OTHER)  # admitted: nothing to report
    await _settle()
    assert [(e.kind, e.project_id, e.agent_id) for e in events.events] == [
        (SystemEventKind.QUOTA_REJECTED, PROJECT, "")
    ]
    assert events.events[0].id == f"quota-rejected-{PROJECT}-{int(clock.now.timestamp() // 60)}"
    clock.now += timedelta(seconds=60)
    with pytest.raises(ResourceExhausted):
        admission.sending(PROJECT)
    await _settle()
    assert len(events.events) == 2


async def test_backlog_rejections_are_reported_and_five_minutes_of_them_trip_the_default_rule() -> None:
    events, clock = InMemorySystemEvents(), Clock()
    backlog = ReportingBacklog(Deep(), Limits(project_unanswered_max=10), SystemReporter(events, clock))
    await backlog.admit(OTHER)
    for _ in range(5):
        with pytest.raises(ResourceExhausted):
            await backlog.admit(PROJECT)
        clock.now += timedelta(minutes=1)
    await _settle()
    assert [e.kind for e in events.events] == [SystemEventKind.QUOTA_REJECTED] * 5
    book = RuleBook(DEFAULT_RULES)
    trips = [trip for event in events.events for trip in book.observe(event)]
    assert len(trips) == 1 and trips[0].rule.describe() == (
        "5 minutes with refused requests (message rate, backlog or inference quota) within 10 minutes"
    )
