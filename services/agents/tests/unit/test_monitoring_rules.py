"""The monitor's rules: counts in windows by the events' own times, thresholds, one trip per bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind
from agentmesh_agents.domain.monitoring.rules import DEFAULT_RULES, Rule, RuleBook
from agentmesh_agents.settings import AgentsSettings

PROJECT = "7a0c7d51-7a8f-4a43-9d1e-0b6f0f3c2a11"
# The start of a 10-minute bucket, so that a burst below does not straddle two buckets by accident.
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FIVE_IN_TEN = Rule(SystemEventKind.TURN_FAILED, 5, timedelta(minutes=10))


def failed(n: int, at: datetime, agent: str = "agent-a", kind: SystemEventKind = SystemEventKind.TURN_FAILED):
    return SystemEvent(id=f"{kind.value}-{agent}-{n}", kind=kind, project_id=PROJECT, occurred_at=at, agent_id=agent)


def feed(book: RuleBook, events: list[SystemEvent]) -> list[tuple[int, int]]:
    """(index of the tripping event, count) for every trip."""
    return [(index, trip.count) for index, event in enumerate(events) for trip in book.observe(event)]


def test_five_failures_within_ten_minutes_trip_at_the_fifth() -> None:
    events = [failed(n, T0 + timedelta(minutes=2 * n)) for n in range(5)]  # 0..8 minutes
    assert feed(RuleBook([FIVE_IN_TEN]), events) == [(4, 5)]


def test_four_failures_do_not_trip() -> None:
    assert feed(RuleBook([FIVE_IN_TEN]), [failed(n, T0 + timedelta(minutes=n)) for n in range(4)]) == []


def test_failures_spread_wider_than_the_window_do_not_trip() -> None:
    # Five failures, three minutes apart: any ten minutes hold at most four.
    events = [failed(n, T0 + timedelta(minutes=3 * n)) for n in range(5)]
    assert feed(RuleBook([FIVE_IN_TEN]), events) == []


def test_the_window_end_is_exclusive() -> None:
    # The first failure is exactly ten minutes before the fifth: out of the window (t - W, t].
    times = [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2), T0 + timedelta(minutes=3)]
    events = [failed(n, at) for n, at in enumerate([*times, T0 + timedelta(minutes=10)])]
    assert feed(RuleBook([FIVE_IN_TEN]), events) == []


def test_a_repeated_event_counts_once() -> None:
    same = failed(1, T0)
    assert feed(RuleBook([FIVE_IN_TEN]), [same] * 10) == []


def test_agents_and_kinds_are_counted_apart() -> None:
    events = [failed(n, T0 + timedelta(seconds=n), agent="agent-a") for n in range(3)]
    events += [failed(n, T0 + timedelta(seconds=10 + n), agent="agent-b") for n in range(3)]
    events += [failed(n, T0 + timedelta(seconds=20 + n), kind=SystemEventKind.TOOL_REFUSED) for n in range(3)]
    assert feed(RuleBook([FIVE_IN_TEN]), events) == []


def test_one_trip_per_window_bucket_then_again_in_the_next() -> None:
    book = RuleBook([FIVE_IN_TEN])
    burst = [failed(n, T0 + timedelta(seconds=10 * n)) for n in range(8)]
    assert feed(book, burst) == [(4, 5)]  # the 6th..8th add to the count, no second alert
    later = [failed(100 + n, T0 + timedelta(minutes=10, seconds=n)) for n in range(5)]
    trips = [trip for event in later for trip in book.observe(event)]
    assert len(trips) == 1 and trips[0].bucket == burst[0].occurred_at.timestamp() // 600 + 1


def test_replicas_reading_the_same_events_trip_with_the_same_key() -> None:
    events = [failed(n, T0 + timedelta(seconds=30 * n)) for n in range(12)]
    one, two = RuleBook([FIVE_IN_TEN]), RuleBook([FIVE_IN_TEN])
    keys_one = [trip.key for event in events for trip in one.observe(event)]
    # The second replica started late: it missed the first two events, and trips later, in the same bucket.
    keys_two = [trip.key for event in events[2:] for trip in two.observe(event)]
    assert keys_one == keys_two and len(keys_one) == 1
    assert keys_one[0].startswith(f"monitor:{FIVE_IN_TEN.name}:agent-a:")


def test_forgetting_keeps_what_a_window_still_counts() -> None:
    book = RuleBook([FIVE_IN_TEN])
    feed(book, [failed(n, T0 + timedelta(minutes=n)) for n in range(4)])
    book.forget_before(T0 + timedelta(minutes=13))  # keeps what is younger than two windows
    assert feed(book, [failed(9, T0 + timedelta(minutes=5))]) == [(0, 5)]
    book.forget_before(T0 + timedelta(hours=2))
    assert feed(book, [failed(n, T0 + timedelta(hours=2, minutes=n)) for n in range(10, 14)]) == []


def test_rules_describe_themselves_and_refuse_nonsense() -> None:
    assert FIVE_IN_TEN.describe() == "5 failed turns within 10 minutes"
    assert Rule(SystemEventKind.TOOL_REFUSED, 3, timedelta(seconds=90)).describe() == (
        "3 refused tool calls within 90 seconds"
    )
    with pytest.raises(ValueError):
        Rule(SystemEventKind.TURN_FAILED, 0, timedelta(minutes=1))
    with pytest.raises(ValueError):
        Rule(SystemEventKind.TURN_FAILED, 1, timedelta(0))


def test_rules_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTMESH_DATABASE_URL", "postgresql://x")
    assert AgentsSettings().rules() == DEFAULT_RULES
    monkeypatch.setenv("AGENTMESH_MONITOR_RULES", '[{"kind": "turn_failed", "count": 3, "window_seconds": 60}]')
    assert AgentsSettings().rules() == (Rule(SystemEventKind.TURN_FAILED, 3, timedelta(minutes=1)),)
    for bad in ('[{"kind": "nonsense", "count": 3, "window_seconds": 60}]', '[{"kind": "turn_failed", "count": 0}]'):
        monkeypatch.setenv("AGENTMESH_MONITOR_RULES", bad)
        with pytest.raises(ValidationError):
            AgentsSettings()
