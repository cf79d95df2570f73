"""When a schedule fires next, computed locally the way Temporal computes it.

Used where asking Temporal would cost a call per row (lists) or is not
possible (Temporal unavailable); Temporal's own answer wins where we have it.
"""

from __future__ import annotations

import math
import zoneinfo
from datetime import UTC, datetime

from croniter import CroniterError, croniter

from agentmesh_scheduler.domain.models import CronTrigger, IntervalTrigger, OneOffTrigger, Schedule


def next_fire_time(schedule: Schedule, now: datetime) -> datetime | None:
    """The first firing strictly after now, or None if it will not fire again."""
    if not schedule.enabled:
        return None
    match schedule.trigger:
        case CronTrigger(expression):
            local_now = now.astimezone(zoneinfo.ZoneInfo(schedule.time_zone))
            try:
                local_next: datetime = croniter(expression, local_now).get_next(datetime)
                return local_next.astimezone(UTC)
            except (CroniterError, ValueError):
                return None
        case IntervalTrigger(seconds):
            # Temporal aligns intervals to the Unix epoch (no phase offset is set).
            periods = math.floor(now.timestamp() / seconds) + 1
            return datetime.fromtimestamp(periods * seconds, UTC)
        case OneOffTrigger(run_at):
            if schedule.last_run_at is None and run_at > now:
                return run_at
            return None
    return None


def effective_next_run(schedule: Schedule, now: datetime) -> datetime | None:
    """The stored next run while it is still ahead, else a fresh local computation."""
    if not schedule.enabled:
        return None
    if schedule.next_run_at is not None and schedule.next_run_at > now:
        return schedule.next_run_at
    return next_fire_time(schedule, now)
