"""The narrow interfaces the domain needs from the outside world.

Adapters implement them (PostgreSQL, Temporal, the agents service); tests use
the in-memory fakes in adapters/fakes.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agentmesh_core.identity import Identity
from agentmesh_scheduler.domain.jobs import Job, JobDraft, JobProgress, JobStatus, ReplyState, SentMessage
from agentmesh_scheduler.domain.models import JsonValue, Schedule, ScheduleRun

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class EngineSchedule:
    """What the engine says about one of its schedules."""

    paused: bool
    next_runs: tuple[datetime, ...]
    # The row revision it was last written from (None: written before revisions existed).
    revision: int | None


class ScheduleRepository(Protocol):
    """Stored schedules, always scoped by project."""

    async def add(self, schedule: Schedule) -> None: ...

    async def get(self, project_id: str, schedule_id: str) -> Schedule | None: ...

    async def list_page(self, project_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Schedule]:
        """The project's schedules by creation time (then id), after that key when one is given."""
        ...

    async def list_project(self, project_id: str) -> list[Schedule]: ...

    async def list_all(self, after_id: str, limit: int) -> list[Schedule]:
        """Every project's schedules by id, after `after_id` (the start-up reconcile walks them)."""
        ...

    async def update(self, schedule: Schedule, expected_revision: int) -> bool:
        """Write the schedule's settings and revision; False when the row is gone or its
        revision is no longer expected_revision (someone else changed it)."""
        ...

    async def remove(self, project_id: str, schedule_id: str) -> bool:
        """Delete one row (and its runs); False when it was not there."""
        ...

    async def recent_runs(self, project_id: str, schedule_id: str, limit: int) -> list[ScheduleRun]:
        """The latest runs, newest first."""
        ...

    async def record_run(
        self,
        project_id: str,
        schedule_id: str,
        ran_at: datetime,
        outcome: str,
        next_run_at: datetime | None,
        run_key: str | None = None,
    ) -> bool:
        """Store a run's outcome; False when the schedule is gone.

        With a run_key (the run's workflow id) the run also joins the schedule's
        recent runs, once however often it is recorded.
        """
        ...


class ScheduleEngine(Protocol):
    """The durable timer that fires schedules (Temporal Schedules)."""

    async def create(self, schedule: Schedule) -> None:
        """Create the engine's schedule (paused when disabled); raises Unavailable or InvalidInput."""
        ...

    async def delete(self, temporal_schedule_id: str) -> bool:
        """Delete it; False when it was already gone."""
        ...

    async def next_run_time(self, temporal_schedule_id: str) -> datetime | None:
        """The engine's next firing (None when none); raises NotFound when the schedule is gone."""
        ...

    async def describe(self, temporal_schedule_id: str) -> EngineSchedule:
        """Paused state, next firings and revision; raises NotFound when the schedule is gone."""
        ...

    async def update(self, schedule: Schedule, *, rearm: bool) -> None:
        """Rewrite trigger, payload and policy (paused state is left as it is); rearm gives a
        one-off schedule its one action back. Raises NotFound, Unavailable or InvalidInput."""
        ...

    async def set_paused(self, temporal_schedule_id: str, paused: bool, note: str) -> None:
        """Pause or unpause, with a note operators see in the Temporal UI."""
        ...

    async def trigger(self, temporal_schedule_id: str) -> None:
        """Run the schedule's action now (its overlap policy applies)."""
        ...

    async def schedule_ids(self) -> list[str]:
        """Every schedule id the engine holds for this service (orphans included)."""
        ...


class AgentDirectory(Protocol):
    """Knows which agents exist (the agents service, as the current caller)."""

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        """Raise NotFound("agent not found") unless the agent exists in the project."""
        ...


class MessageSender(Protocol):
    """Sends a message to an agent's mailbox (the agents service)."""

    async def send(
        self,
        *,
        project_id: str,
        agent_id: str,
        content: JsonValue,
        idempotency_key: str,
        correlation_id: str,
    ) -> str:
        """Send and return the accepted message's id."""
        ...


class JobRepository(Protocol):
    """Stored jobs and their steps, always scoped by project."""

    async def add(self, job: Job) -> Job:
        """Store a new job; returns the stored one, which is the existing job when the project
        already has one with the same (non-empty) idempotency key."""
        ...

    async def get(self, project_id: str, job_id: str) -> Job | None: ...

    async def list_page(
        self, project_id: str, status: JobStatus | None, before: tuple[datetime, str] | None, limit: int
    ) -> list[Job]:
        """The project's jobs, newest first (then by id), older than that key when one is given."""
        ...

    async def record(self, progress: JobProgress) -> bool:
        """Apply a report from the job's workflow to each row whose last report is older;
        False when the job is gone."""
        ...

    async def list_pending(self, limit: int) -> list[Job]:
        """Jobs of every project still waiting for their workflow to start."""
        ...

    async def remove_project(self, project_id: str) -> list[Job]:
        """Delete every job of a project; returns what was deleted."""
        ...


class JobStarter(Protocol):
    """Starts a job as a caller would (the Jobs use case): validated, stored, its workflow started."""

    async def create(self, identity: Identity, project_id: str, draft: JobDraft | None) -> Job:
        """The started job; the same non-empty idempotency key returns the first job."""
        ...


class JobEngine(Protocol):
    """Runs jobs as durable workflows (Temporal)."""

    async def start(self, job: Job) -> None:
        """Start the job's workflow; one already started with its id is fine."""
        ...

    async def cancel(self, workflow_id: str) -> bool:
        """Ask the workflow to cancel; False when it is not running."""
        ...


class StepMessenger(Protocol):
    """A job step's conversation with its agent (the agents service, as the scheduler)."""

    async def send_step(
        self, *, project_id: str, agent_id: str, content: JsonValue, idempotency_key: str, correlation_id: str
    ) -> SentMessage:
        """Queue the step's message; a repeated key returns the first message."""
        ...

    async def reply_state(self, project_id: str, message_id: str, conversation_id: str) -> ReplyState:
        """Whether the agent has replied to the message, and with what."""
        ...

    async def cancel_step(self, project_id: str, message_id: str) -> None:
        """Stop the agent's turn on the step's message (and what it delegated); nothing if it has ended."""
        ...
