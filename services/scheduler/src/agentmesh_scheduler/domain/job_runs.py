"""What a job's activities do: send a step's message, read the agent's reply, record progress.

No Temporal types here, so the same logic runs under tests with in-memory fakes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from agentmesh_core.errors import NotFound
from agentmesh_scheduler.domain.failures import Failure, FailureReports, report_failure
from agentmesh_scheduler.domain.jobs import (
    JobProgress,
    JobStatus,
    ReplyState,
    ReplyStatus,
    SentMessage,
    StepStatus,
    StepUpdate,
)
from agentmesh_scheduler.domain.models import JsonValue
from agentmesh_scheduler.domain.ports import JobRepository, StepMessenger

log = logging.getLogger(__name__)

# While a reply is awaited within one look: the first pause, doubling up to the last.
FIRST_LOOK_PAUSE_SECONDS = 0.025
MAX_LOOK_PAUSE_SECONDS = 0.2


def step_idempotency_key(job_id: str, step_id: str, attempt: int) -> str:
    """The same for every retry of one attempt's send (one message per attempt), new per attempt."""
    return f"job-{job_id}-step-{step_id}-attempt-{attempt}"


class JobSteps:
    """A job step's message, its reply, and the job's recorded progress."""

    def __init__(
        self, repository: JobRepository, messenger: StepMessenger, reports: FailureReports | None = None
    ) -> None:
        self._repository = repository
        self._messenger = messenger
        self._reports = reports

    async def start(
        self,
        *,
        project_id: str,
        job_id: str,
        step_id: str,
        attempt: int,
        agent_id: str,
        content: JsonValue,
        seq: int,
        started_at: datetime,
    ) -> SentMessage:
        """Send the attempt's message (idempotently), then record the step as running.

        A job deleted meanwhile (its project was) sends nothing: NotFound.
        """
        if await self._repository.get(project_id, job_id) is None:
            raise NotFound("job was deleted")
        sent = await self._messenger.send_step(
            project_id=project_id,
            agent_id=agent_id,
            content=content,
            idempotency_key=step_idempotency_key(job_id, step_id, attempt),
            correlation_id=job_id,
        )
        update = StepUpdate(
            step_id,
            StepStatus.RUNNING,
            attempts=attempt,
            sent_input=content,
            message_id=sent.message_id,
            started_at=started_at,
        )
        await self._repository.record(JobProgress(project_id, job_id, seq, steps=(update,)))
        log.info("job %s step %s attempt %d sent message %s", job_id, step_id, attempt, sent.message_id)
        return sent

    async def reply(self, project_id: str, sent: SentMessage, wait_seconds: float = 0.0) -> ReplyState:
        """Whether the agent has answered yet, looking again for up to `wait_seconds` while it has not.

        A short wait here catches the replies of quick agents at once; without it the next
        look is the poll's retry, which Temporal schedules about a second later at best.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        pause = FIRST_LOOK_PAUSE_SECONDS
        while True:
            state = await self._messenger.reply_state(project_id, sent.message_id, sent.conversation_id)
            if state.status is not ReplyStatus.WAITING or loop.time() + pause > deadline:
                return state
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_LOOK_PAUSE_SECONDS)

    async def cancel(self, project_id: str, sent: SentMessage) -> None:
        """Stop the agent's turn on a step the job no longer waits for."""
        await self._messenger.cancel_step(project_id, sent.message_id)
        log.info("cancelled the agent's turn on message %s", sent.message_id)

    async def record(self, progress: JobProgress) -> None:
        """Store a progress report (older reports never overwrite newer ones).

        The report that the job failed is also told to the monitor, once per job (the failed
        step's agent is the one concerned).
        """
        if not await self._repository.record(progress):
            log.info("job %s is gone; progress not recorded", progress.job_id)
            return
        if progress.status is not JobStatus.FAILED or self._reports is None:
            return
        job = await self._repository.get(progress.project_id, progress.job_id)
        step = job.step(progress.failed_step_id) if job is not None and progress.failed_step_id else None
        where = f" at step {step.spec.id}" if step is not None else ""
        await report_failure(
            self._reports,
            Failure.JOB,
            project_id=progress.project_id,
            agent_id=step.spec.agent_id if step is not None else "",
            detail=f"job {progress.job_id} failed{where}: {progress.error or 'unknown error'}",
            key=f"job:{progress.job_id}",
        )
