"""What a schedule is: an agent, a trigger, a payload, and what happened last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# A payload is any JSON value (what json.loads returns).
JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class CronTrigger:
    """Fires on a 5-field cron expression, evaluated in the schedule's time zone."""

    expression: str


@dataclass(frozen=True, slots=True)
class IntervalTrigger:
    """Fires every `seconds` seconds (aligned to the Unix epoch, as Temporal does)."""

    seconds: int


@dataclass(frozen=True, slots=True)
class OneOffTrigger:
    """Fires once, at `run_at` (timezone-aware, UTC)."""

    run_at: datetime


Trigger = CronTrigger | IntervalTrigger | OneOffTrigger


@dataclass(frozen=True, slots=True)
class ScheduleDraft:
    """A request to create a schedule, as received; Scheduler.create validates it."""

    agent_id: str
    trigger: Trigger | None
    time_zone: str
    payload: JsonValue
    enabled: bool


@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored schedule and what is known about its runs."""

    id: str
    project_id: str
    agent_id: str
    trigger: Trigger
    time_zone: str
    payload: JsonValue
    enabled: bool
    temporal_schedule_id: str
    created_at: datetime
    last_run_at: datetime | None = None
    last_run_outcome: str | None = None
    next_run_at: datetime | None = None


def temporal_schedule_id(project_id: str, schedule_id: str) -> str:
    """The readable id operators see in the Temporal UI; also the workflow id prefix."""
    return f"project-{project_id}-schedule-{schedule_id}"
