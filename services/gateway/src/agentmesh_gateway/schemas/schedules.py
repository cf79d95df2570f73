"""Schedules: each firing sends a message to an agent, or starts a job from a template."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool, model_validator

from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.jobs import RetryOut, StepIn
from agentmesh_gateway.schemas.values import JsonValue, Text, UtcDatetime

# agentmesh.scheduler.v1.OverlapPolicy: what a firing does while the previous run still runs.
OverlapPolicy = Literal["skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"]
_TRIGGERS = ("cron", "interval_seconds", "run_at")
_CATCHUP = "missed firings (Temporal was down) at most this old still run, subject to the overlap policy"


class ScheduleJobIn(Strict):
    """The job each firing starts: POST /jobs' body without idempotency_key (each firing derives its own)."""

    name: Text = Field(min_length=1, max_length=limits.JOB_NAME_MAX_LENGTH)
    steps: list[StepIn] = Field(min_length=1, max_length=limits.JOB_STEPS_MAX)


class ScheduleIn(Strict):
    """Exactly one of cron, interval_seconds, run_at; and a target: agent_id with payload, or job."""

    agent_id: UUID | None = Field(default=None, description="the agent that receives payload (a message schedule)")
    cron: Text | None = Field(default=None, min_length=1, max_length=limits.CRON_MAX_LENGTH)
    interval_seconds: int | None = Field(default=None, ge=limits.INTERVAL_SECONDS_MIN, le=limits.INTERVAL_SECONDS_MAX)
    run_at: UtcDatetime | None = None
    timezone: Text = Field(default="UTC", min_length=1, max_length=limits.TIME_ZONE_MAX_LENGTH)
    # Required with agent_id, as the scheduler requires it: what the agent receives each time.
    payload: JsonValue = Field(default=None, description="the message content sent to the agent: text or any JSON")
    job: ScheduleJobIn | None = Field(default=None, description="the job each firing starts, instead of a message")
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
        if self.job is not None and (self.agent_id is not None or "payload" in self.model_fields_set):
            raise ValueError("give either 'agent_id' with 'payload' or 'job', not both")
        if self.job is None and self.agent_id is None:
            raise ValueError("give a target: 'agent_id' with 'payload', or 'job'")
        if self.job is None and "payload" not in self.model_fields_set:
            raise ValueError("'payload' is required with 'agent_id'")
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
    job: ScheduleJobIn | None = Field(default=None, description="the new job template (job schedules only)")
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


class ScheduleStepOut(BaseModel):
    """A step of a schedule's job template, as checked and stored."""

    id: str
    agent_id: str
    input: Any
    depends_on: list[str]
    retry: RetryOut
    timeout_s: float


class ScheduleJobOut(BaseModel):
    """The job each firing starts."""

    name: str
    steps: list[ScheduleStepOut]


class ScheduleOut(BaseModel):
    id: str
    project_id: str
    agent_id: str | None = Field(description="the agent a message schedule sends to; null for a job schedule")
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
    next_runs: list[datetime] = Field(
        default_factory=list,
        description="the next firings, as Temporal has them (empty when paused, and in lists: read the schedule)",
    )
    recent_runs: list[ScheduleRunOut] = Field(
        default_factory=list, description="the latest runs, newest first (empty in lists: read the schedule)"
    )
    job: ScheduleJobOut | None = Field(default=None, description="the job each firing starts (a job schedule)")
