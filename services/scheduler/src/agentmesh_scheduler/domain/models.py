"""What a schedule is: a target (a message to an agent, or a job), a trigger, and what happened last."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentmesh_scheduler.domain.jobs import JobDraft, JobTemplate

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


class OverlapPolicy(StrEnum):
    """What a firing does while the schedule's previous run still runs (Temporal's policies)."""

    SKIP = "skip"
    BUFFER_ONE = "buffer_one"
    BUFFER_ALL = "buffer_all"
    CANCEL_OTHER = "cancel_other"
    TERMINATE_OTHER = "terminate_other"
    ALLOW_ALL = "allow_all"


# Firings missed while Temporal was down run if they are at most this old
# (subject to the overlap policy: with SKIP, at most one of them runs).
DEFAULT_CATCHUP_WINDOW_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    """One past run of a schedule and its outcome."""

    ran_at: datetime
    outcome: str


@dataclass(frozen=True, slots=True)
class ScheduleDraft:
    """A request to create a schedule, as received; Scheduler.create validates it.

    Its target is either agent_id (with payload) or job (a job template), not both.
    """

    agent_id: str
    trigger: Trigger | None
    time_zone: str
    payload: JsonValue
    enabled: bool
    overlap: OverlapPolicy | None = None
    catchup_window_seconds: int | None = None
    job: JobDraft | None = None


@dataclass(frozen=True, slots=True)
class SchedulePatch:
    """The fields an update changes; None leaves a field as it is."""

    trigger: Trigger | None = None
    time_zone: str | None = None
    payload: JsonValue = None
    enabled: bool | None = None
    overlap: OverlapPolicy | None = None
    catchup_window_seconds: int | None = None
    # A new job template (job-target schedules only).
    job: JobDraft | None = None
    # What was wrong with the request itself (e.g. an unknown update_mask path);
    # reported after the caller's access is checked.
    problems: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when the patch changes nothing."""
        return not self.problems and all(
            getattr(self, field.name) is None for field in dataclasses.fields(self) if field.name != "problems"
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored schedule and what is known about its runs.

    A message schedule has agent_id and payload; a job schedule has job instead
    (agent_id None, payload None).
    """

    id: str
    project_id: str
    agent_id: str | None
    trigger: Trigger
    time_zone: str
    payload: JsonValue
    enabled: bool
    temporal_schedule_id: str
    created_at: datetime
    last_run_at: datetime | None = None
    last_run_outcome: str | None = None
    next_run_at: datetime | None = None
    overlap: OverlapPolicy = OverlapPolicy.SKIP
    catchup_window_seconds: int = DEFAULT_CATCHUP_WINDOW_SECONDS
    # Bumped by every update; the Temporal Schedule carries the revision it was
    # last written with, so the start-up reconcile can tell which ones drifted.
    revision: int = 0
    job: JobTemplate | None = None
    # Filled in by reads that ask for them (not stored on the row).
    next_runs: tuple[datetime, ...] = ()
    recent_runs: tuple[ScheduleRun, ...] = ()


def temporal_schedule_id(project_id: str, schedule_id: str) -> str:
    """The readable id operators see in the Temporal UI; also the workflow id prefix."""
    return f"project-{project_id}-schedule-{schedule_id}"


def parse_temporal_schedule_id(value: str) -> tuple[str, str] | None:
    """(project_id, schedule_id) from a readable Temporal Schedule id, None if not one of ours."""
    if not value.startswith("project-") or "-schedule-" not in value:
        return None
    project_id, _, schedule_id = value.removeprefix("project-").partition("-schedule-")
    try:
        return str(uuid.UUID(project_id)), str(uuid.UUID(schedule_id))
    except ValueError:
        return None


def pause_note(enabled: bool, *, reconciled: bool = False) -> str:
    """The note operators see on a Temporal Schedule that agentmesh paused or unpaused."""
    note = "enabled through agentmesh" if enabled else "disabled through agentmesh"
    return f"{note} (reconciled)" if reconciled else note
