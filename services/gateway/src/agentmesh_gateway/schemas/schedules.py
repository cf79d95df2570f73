"""Schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool, model_validator

from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.values import JsonValue, Text, UtcDatetime

# agentmesh.scheduler.v1.OverlapPolicy: what a firing does while the previous run still runs.
OverlapPolicy = Literal["skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"]
_TRIGGERS = ("cron", "interval_seconds", "run_at")
_CATCHUP = "missed firings (Temporal was down) at most this old still run, subject to the overlap policy"


class ScheduleIn(Strict):
    """Exactly one of cron, interval_seconds, run_at."""

    agent_id: UUID
    cron: Text | None = Field(default=None, min_length=1, max_length=limits.CRON_MAX_LENGTH)
    interval_seconds: int | None = Field(default=None, ge=limits.INTERVAL_SECONDS_MIN, le=limits.INTERVAL_SECONDS_MAX)
    run_at: UtcDatetime | None = None
    timezone: Text = Field(default="UTC", min_length=1, max_length=limits.TIME_ZONE_MAX_LENGTH)
    # Required, as the scheduler requires it: what the agent receives each time.
    payload: JsonValue = Field(description="the message content sent to the agent: text or any JSON")
    enabled: StrictBool = True
    overlap_policy: OverlapPolicy = "skip"
    catchup_window_seconds: int = Field(
        default=limits.CATCHUP_WINDOW_SECONDS_DEFAULT,
        ge=limits.CATCHUP_WINDOW_SECONDS_MIN,
        le=limits.CATCHUP_WINDOW_SECONDS_MAX,
        description=_CATCHUP,
    )

    @model_validator(mode="after")
    def _exactly_one_trigger(self) -> ScheduleIn:
        given = [name for name in _TRIGGERS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'cron', 'interval_seconds', 'run_at'")
        return self


class SchedulePatch(Strict):
    """The fields to change (PATCH); at most one of cron, interval_seconds, run_at.

    `enabled: false` pauses the Temporal Schedule and `true` resumes it.
    """

    cron: Text | None = Field(default=None, min_length=1, max_length=limits.CRON_MAX_LENGTH)
    interval_seconds: int | None = Field(default=None, ge=limits.INTERVAL_SECONDS_MIN, le=limits.INTERVAL_SECONDS_MAX)
    run_at: UtcDatetime | None = None
    timezone: Text | None = Field(default=None, min_length=1, max_length=limits.TIME_ZONE_MAX_LENGTH)
    payload: JsonValue = Field(default=None, description="the new message content: text or any JSON")
    enabled: StrictBool | None = None
    overlap_policy: OverlapPolicy | None = None
    catchup_window_seconds: int | None = Field(
        default=None, ge=limits.CATCHUP_WINDOW_SECONDS_MIN, le=limits.CATCHUP_WINDOW_SECONDS_MAX, description=_CATCHUP
    )

    @model_validator(mode="after")
    def _one_trigger_and_no_nulls(self) -> SchedulePatch:
        if sum(getattr(self, name) is not None for name in _TRIGGERS) > 1:
            raise ValueError("give at most one of 'cron', 'interval_seconds', 'run_at'")
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{nulls[0]!r} may not be null; leave it out to keep it")
        return self

    def changed(self) -> set[str]:
        """The fields the client gave."""
        return set(self.model_fields_set)


class ScheduleRunOut(BaseModel):
    """One past run."""

    ran_at: datetime
    outcome: str


class ScheduleOut(BaseModel):
    id: str
    project_id: str
    agent_id: str
    cron: str | None
    interval_seconds: int | None
    run_at: datetime | None
    timezone: str
    payload: Any
    enabled: bool
    temporal_schedule_id: str
    last_run_at: datetime | None
    last_run_outcome: str | None
    next_run_at: datetime | None
    created_at: datetime | None
    overlap_policy: OverlapPolicy = "skip"
    catchup_window_seconds: int = limits.CATCHUP_WINDOW_SECONDS_DEFAULT
    next_runs: list[datetime] = Field(default_factory=list, description="the next firings (empty when paused)")
    recent_runs: list[ScheduleRunOut] = Field(default_factory=list, description="the latest runs, newest first")
