"""Locally computed next run times (lists, and when Temporal does not answer)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from agentmesh_scheduler.domain.models import CronTrigger, IntervalTrigger, OneOffTrigger, Schedule, Trigger
from agentmesh_scheduler.domain.timing import effective_next_run, next_fire_time

NOW = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)


def _schedule(trigger: Trigger, time_zone: str = "UTC", **changes: object) -> Schedule:
    schedule = Schedule(
        id="s",
        project_id="p",
        agent_id="a",
        trigger=trigger,
        time_zone=time_zone,
        payload="hi",
        enabled=True,
        temporal_schedule_id="project-p-schedule-s",
        created_at=NOW,
    )
    return dataclasses.replace(schedule, **changes)


def test_cron_is_evaluated_in_the_schedule_time_zone() -> None:
    # 09:00 in Berlin (UTC+1 in November) is 08:00 UTC, tomorrow.
    nxt = next_fire_time(_schedule(CronTrigger("0 9 * * *"), "Europe/Berlin"), NOW)
    assert nxt == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_interval_is_aligned_to_the_epoch() -> None:
    assert next_fire_time(_schedule(IntervalTrigger(10)), NOW) == datetime(2026, 11, 24, 12, 0, 10, tzinfo=UTC)
    assert next_fire_time(_schedule(IntervalTrigger(3600)), NOW) == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


def test_one_off_fires_once() -> None:
    later = NOW + timedelta(hours=1)
    assert next_fire_time(_schedule(OneOffTrigger(later)), NOW) == later
    assert next_fire_time(_schedule(OneOffTrigger(later), last_run_at=later), NOW) is None
    assert next_fire_time(_schedule(OneOffTrigger(later)), later + timedelta(seconds=1)) is None


def test_disabled_never_fires() -> None:
    assert next_fire_time(_schedule(IntervalTrigger(10), enabled=False), NOW) is None
    assert effective_next_run(_schedule(IntervalTrigger(10), enabled=False), NOW) is None


def test_stored_next_run_wins_while_ahead() -> None:
    stored = NOW + timedelta(seconds=5)
    assert effective_next_run(_schedule(IntervalTrigger(60), next_run_at=stored), NOW) == stored
    stale = _schedule(IntervalTrigger(60), next_run_at=NOW - timedelta(minutes=5))
    assert effective_next_run(stale, NOW) == datetime(2026, 11, 24, 12, 1, tzinfo=UTC)
