"""Multi-step jobs: a graph of agent steps run by one Temporal workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.values import JsonValue, Text

# agentmesh.scheduler.v1.JobStatus
JobStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
# agentmesh.scheduler.v1.JobStepStatus
JobStepStatus = Literal["pending", "running", "completed", "failed", "cancelled", "skipped"]

StepId = Text


class RetryIn(Strict):
    """How often a step is tried: each attempt is a new message to the agent."""

    max_attempts: int = Field(default=limits.JOB_DEFAULT_MAX_ATTEMPTS, ge=1, le=limits.JOB_MAX_ATTEMPTS_MAX)
    backoff_s: float = Field(default=limits.JOB_DEFAULT_BACKOFF_SECONDS, ge=0, le=limits.JOB_BACKOFF_SECONDS_MAX)


class StepIn(Strict):
    """One step: a message to an agent once every step it depends on has completed."""

    id: StepId = Field(pattern=limits.JOB_STEP_ID_PATTERN, description="unique in the job")
    agent_id: UUID
    input: JsonValue = Field(
        description="what the agent receives; strings may hold {{steps.<id>.output}} of steps it depends on"
    )
    depends_on: list[StepId] = Field(default_factory=list, max_length=limits.JOB_STEPS_MAX)
    retry: RetryIn = Field(default_factory=RetryIn)
    timeout_s: float = Field(
        default=limits.JOB_DEFAULT_TIMEOUT_SECONDS,
        ge=limits.JOB_TIMEOUT_SECONDS_MIN,
        le=limits.JOB_TIMEOUT_SECONDS_MAX,
        description="how long one attempt may take, the agent's reply included",
    )


class JobIn(Strict):
    """A job: its steps form a graph (no cycles); independent steps run in parallel."""

    name: Text = Field(min_length=1, max_length=limits.JOB_NAME_MAX_LENGTH)
    steps: list[StepIn] = Field(min_length=1, max_length=limits.JOB_STEPS_MAX)
    idempotency_key: Text | None = Field(
        default=None, min_length=1, max_length=limits.IDEMPOTENCY_KEY_MAX_LENGTH,
        description="repeating a create with the same key returns the first job",
    )  # fmt: skip


class RetryOut(BaseModel):
    max_attempts: int
    backoff_s: float


class StepOut(BaseModel):
    """A step as defined, and what became of it."""

    id: str
    agent_id: str
    input: Any
    depends_on: list[str]
    retry: RetryOut
    timeout_s: float
    status: JobStepStatus
    attempts: int
    output: Any = Field(description="the agent's reply, once completed")
    error: str | None
    sent_input: Any = Field(description="the input as sent, references replaced")
    message_id: str | None
    started_at: datetime | None
    ended_at: datetime | None


class JobOut(BaseModel):
    id: str
    project_id: str
    name: str
    status: JobStatus
    steps: list[StepOut]
    workflow_id: str
    temporal_ui_url: str | None
    error: str | None
    failed_step_id: str | None
    idempotency_key: str | None
    created_at: datetime | None
    updated_at: datetime | None
    ended_at: datetime | None
