"""What a multi-step job is: a graph of agent steps, and what became of each step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from agentmesh_scheduler.domain.models import JsonValue


class JobStatus(StrEnum):
    """Where a job is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class StepStatus(StrEnum):
    """Where a step is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class StepDraft:
    """A step as the client sent it; None means "the default"."""

    id: str
    agent_id: str
    input: JsonValue
    depends_on: tuple[str, ...] = ()
    max_attempts: int | None = None
    backoff_seconds: float | None = None
    timeout_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class JobDraft:
    """A request to start a job, as received; Jobs.create validates it."""

    name: str
    steps: tuple[StepDraft, ...]
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class StepSpec:
    """A validated step."""

    id: str
    agent_id: str
    input: JsonValue
    depends_on: tuple[str, ...]
    max_attempts: int
    backoff_seconds: float
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class JobTemplate:
    """A validated job a schedule starts at each firing (its steps' agents checked at create)."""

    name: str
    steps: tuple[StepSpec, ...]

    def draft(self, idempotency_key: str) -> JobDraft:
        """The template as a job request, keyed (one firing starts one job)."""
        steps = tuple(
            StepDraft(
                id=spec.id,
                agent_id=spec.agent_id,
                input=spec.input,
                depends_on=spec.depends_on,
                max_attempts=spec.max_attempts,
                backoff_seconds=spec.backoff_seconds,
                timeout_seconds=spec.timeout_seconds,
            )
            for spec in self.steps
        )
        return JobDraft(name=self.name, steps=steps, idempotency_key=idempotency_key)


@dataclass(frozen=True, slots=True)
class StepState:
    """A step and what became of it."""

    spec: StepSpec
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    output: JsonValue = None
    error: str | None = None
    sent_input: JsonValue = None
    message_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A stored job."""

    id: str
    project_id: str
    name: str
    status: JobStatus
    steps: tuple[StepState, ...]
    workflow_id: str
    created_at: datetime
    updated_at: datetime
    idempotency_key: str = ""
    error: str | None = None
    failed_step_id: str | None = None
    ended_at: datetime | None = None
    # Filled in by reads (not stored): where operators see the workflow.
    temporal_ui_url: str = ""

    def step(self, step_id: str) -> StepState | None:
        return next((state for state in self.steps if state.spec.id == step_id), None)


def job_workflow_id(project_id: str, job_id: str) -> str:
    """The readable workflow id operators see in the Temporal UI."""
    return f"project-{project_id}-job-{job_id}"


@dataclass(frozen=True, slots=True)
class StepUpdate:
    """A step's new state, as the job's workflow reports it (None: unchanged)."""

    step_id: str
    status: StepStatus
    attempts: int | None = None
    output: JsonValue = None
    error: str | None = None
    sent_input: JsonValue = None
    message_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobProgress:
    """One report from a job's workflow. seq grows with every report of the run, so a
    late retry of an older report never overwrites a newer state."""

    project_id: str
    job_id: str
    seq: int
    status: JobStatus | None = None
    error: str | None = None
    failed_step_id: str | None = None
    at: datetime | None = None
    steps: tuple[StepUpdate, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A step's message as the agents service accepted it."""

    message_id: str
    conversation_id: str


class ReplyStatus(StrEnum):
    """Whether the agent has answered a step's message."""

    WAITING = "waiting"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ReplyState:
    """The agent's answer to a step's message, once there is one."""

    status: ReplyStatus
    output: JsonValue = None
    error: str | None = None
