"""Temporal activities of a job: start a step (send its message), wait for the reply, record progress.

Waiting costs no worker slot while the agent thinks: `await_job_step_reply`
looks for up to a second (quick agents are caught at once) and, when there is
no reply yet, fails with a benign, retryable error; the workflow's retry
policy for it (a growing interval, capped) is the polling schedule, kept by
the Temporal server. A worker that dies, or a server that restarts, loses
nothing: the next attempt simply looks again. JSON values travel as JSON text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from agentmesh_core.errors import AgentmeshError
from agentmesh_grpc.identity import acting_as
from agentmesh_observability import context
from agentmesh_scheduler.activities.schedule import ERROR_TYPE_PREFIX, SCHEDULER_IDENTITY, application_error
from agentmesh_scheduler.domain.failures import FailureReports
from agentmesh_scheduler.domain.job_runs import JobSteps
from agentmesh_scheduler.domain.jobs import JobProgress, JobStatus, ReplyStatus, SentMessage, StepStatus, StepUpdate
from agentmesh_scheduler.domain.ports import JobRepository, StepMessenger

STILL_WAITING = ERROR_TYPE_PREFIX + "still_waiting"
# How long one look for a step's reply waits for it (a worker slot is held that long at most).
REPLY_WAIT_SECONDS = 1.0
STEP_FAILED = ERROR_TYPE_PREFIX + "step_failed"


@dataclass
class StartStepInput:
    """One attempt of one step; content_json is the rendered input."""

    project_id: str
    job_id: str
    step_id: str
    attempt: int
    agent_id: str
    content_json: str
    seq: int
    started_at: datetime


@dataclass
class SentStep:
    """The attempt's message."""

    message_id: str
    conversation_id: str


@dataclass
class AwaitReplyInput:
    """Which message's reply to look for."""

    project_id: str
    job_id: str
    step_id: str
    message_id: str
    conversation_id: str


@dataclass
class StepProgressInput:
    """A step's new state (None: unchanged); output_json is JSON text."""

    step_id: str
    status: str
    attempts: int | None = None
    output_json: str | None = None
    error: str | None = None
    ended_at: datetime | None = None


@dataclass
class ProgressInput:
    """One progress report of a job's workflow (seq orders the reports of a run)."""

    project_id: str
    job_id: str
    seq: int
    status: str | None = None
    error: str | None = None
    failed_step_id: str | None = None
    at: datetime | None = None
    steps: list[StepProgressInput] = field(default_factory=list)


def _progress(input: ProgressInput) -> JobProgress:
    return JobProgress(
        project_id=input.project_id,
        job_id=input.job_id,
        seq=input.seq,
        status=JobStatus(input.status) if input.status else None,
        error=input.error,
        failed_step_id=input.failed_step_id,
        at=input.at,
        steps=tuple(
            StepUpdate(
                step.step_id,
                StepStatus(step.status),
                attempts=step.attempts,
                output=json.loads(step.output_json) if step.output_json is not None else None,
                error=step.error,
                ended_at=step.ended_at,
            )
            for step in input.steps
        ),
    )


class JobActivities:
    """The activities a job's workflow runs."""

    def __init__(
        self, repository: JobRepository, messenger: StepMessenger, reports: FailureReports | None = None
    ) -> None:
        self._steps = JobSteps(repository, messenger, reports)

    @activity.defn(name="start_job_step")
    async def start_step(self, input: StartStepInput) -> SentStep:
        """Send the attempt's message (a retry sends nothing new) and record the step as running."""
        with acting_as(SCHEDULER_IDENTITY), context.bind(project_id=input.project_id, agent_id=input.agent_id):
            try:
                sent = await self._steps.start(
                    project_id=input.project_id,
                    job_id=input.job_id,
                    step_id=input.step_id,
                    attempt=input.attempt,
                    agent_id=input.agent_id,
                    content=json.loads(input.content_json),
                    seq=input.seq,
                    started_at=input.started_at,
                )
            except AgentmeshError as error:
                raise application_error(error) from None
        return SentStep(sent.message_id, sent.conversation_id)

    @activity.defn(name="await_job_step_reply")
    async def await_reply(self, input: AwaitReplyInput) -> str:
        """The reply's content as JSON text; a retryable benign error while there is none yet."""
        with acting_as(SCHEDULER_IDENTITY), context.bind(project_id=input.project_id, message_id=input.message_id):
            try:
                sent = SentMessage(input.message_id, input.conversation_id)
                state = await self._steps.reply(input.project_id, sent, wait_seconds=REPLY_WAIT_SECONDS)
            except AgentmeshError as error:
                raise application_error(error) from None
        if state.status is ReplyStatus.WAITING:
            raise ApplicationError(
                "the agent has not replied yet", type=STILL_WAITING, category=ApplicationErrorCategory.BENIGN
            )
        if state.status is ReplyStatus.FAILED:
            raise ApplicationError(f"the agent failed: {state.error}", type=STEP_FAILED, non_retryable=True)
        return json.dumps(state.output, ensure_ascii=False)

    @activity.defn(name="cancel_job_step_turn")
    async def cancel_turn(self, input: AwaitReplyInput) -> None:
        """Cancel the agent's turn on a step's message (a cancelled job, or a failed sibling step)."""
        with acting_as(SCHEDULER_IDENTITY), context.bind(project_id=input.project_id, message_id=input.message_id):
            try:
                await self._steps.cancel(input.project_id, SentMessage(input.message_id, input.conversation_id))
            except AgentmeshError as error:
                raise application_error(error) from None

    @activity.defn(name="record_job_progress")
    async def record_progress(self, input: ProgressInput) -> None:
        """Store a progress report (the job's and its steps' states); a failed job is reported to the monitor."""
        with acting_as(SCHEDULER_IDENTITY), context.bind(project_id=input.project_id):
            try:
                await self._steps.record(_progress(input))
            except AgentmeshError as error:
                raise application_error(error) from None
