"""What one firing of a schedule does: send the payload (or start the job), then record the outcome.

Temporal activities call these; they hold no Temporal types, so the same
logic runs under tests with in-memory fakes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from agentmesh_core.errors import FailedPrecondition, NotFound, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_scheduler.domain.failures import Failure, FailureReports, report_failure
from agentmesh_scheduler.domain.models import JsonValue
from agentmesh_scheduler.domain.ports import (
    Clock,
    JobStarter,
    MessageSender,
    ScheduleEngine,
    ScheduleRepository,
)
from agentmesh_scheduler.domain.scheduler import utc_now
from agentmesh_scheduler.domain.timing import next_fire_time

log = logging.getLogger(__name__)

OUTCOME_MAX_LENGTH = 1000
_FAILED = "failed: "


def sent_outcome(message_id: str) -> str:
    """The outcome of a run that delivered its message."""
    return f"sent message {message_id}"


def job_outcome(job_id: str) -> str:
    """The outcome of a run that started its job."""
    return f"started job {job_id}"


def failed_outcome(reason: str) -> str:
    """The outcome of a run that could not deliver its message."""
    return f"{_FAILED}{reason}"[:OUTCOME_MAX_LENGTH]


class ScheduleRuns:
    """Sends scheduled payloads and keeps each schedule's last/next run up to date."""

    def __init__(
        self,
        repository: ScheduleRepository,
        engine: ScheduleEngine,
        sender: MessageSender,
        jobs: JobStarter | None = None,
        clock: Clock = utc_now,
        reports: FailureReports | None = None,
    ) -> None:
        self._repository = repository
        self._engine = engine
        self._sender = sender
        self._jobs = jobs
        self._clock = clock
        self._reports = reports

    async def send(
        self,
        *,
        project_id: str,
        schedule_id: str,
        agent_id: str,
        payload: JsonValue,
        idempotency_key: str,
    ) -> str:
        """Send the payload to the agent; returns the outcome text.

        A schedule deleted after its Temporal Schedule fired sends nothing.
        Errors from the agents service propagate (the caller decides on retries).
        """
        if await self._repository.get(project_id, schedule_id) is None:
            log.info("schedule %s is gone; not sending", schedule_id)
            return "skipped: schedule was deleted"
        message_id = await self._sender.send(
            project_id=project_id,
            agent_id=agent_id,
            content=payload,
            idempotency_key=idempotency_key,
            correlation_id=schedule_id,
        )
        log.info("schedule %s sent message %s", schedule_id, message_id)
        return sent_outcome(message_id)

    async def start_job(self, *, identity: Identity, project_id: str, schedule_id: str, idempotency_key: str) -> str:
        """Start one job from the schedule's current template; returns the outcome text.

        The key is the firing's, so a retried start returns the job the first try started.
        A schedule deleted after its Temporal Schedule fired starts nothing. Errors
        from the Jobs use case (an agent deleted since, Temporal down) propagate.
        """
        schedule = await self._repository.get(project_id, schedule_id)
        if schedule is None:
            log.info("schedule %s is gone; not starting its job", schedule_id)
            return "skipped: schedule was deleted"
        if schedule.job is None or self._jobs is None:
            raise FailedPrecondition("the schedule has no job to start")
        job = await self._jobs.create(identity, project_id, schedule.job.draft(idempotency_key))
        log.info("schedule %s started job %s", schedule_id, job.id)
        return job_outcome(job.id)

    async def record(
        self,
        *,
        project_id: str,
        schedule_id: str,
        ran_at: datetime,
        outcome: str,
        run_key: str | None = None,
        failure_key: str | None = None,
    ) -> None:
        """Store last run time, outcome and the next run time (Temporal's, else computed).

        run_key (the run's workflow id) adds the run to the schedule's recent runs once.
        A failed run with a failure_key (the run's own: its workflow and run ids, since runs
        triggered within one second share a workflow id) is reported to the monitor, once.
        """
        schedule = await self._repository.get(project_id, schedule_id)
        if schedule is None:
            return
        try:
            next_run_at = await self._engine.next_run_time(schedule.temporal_schedule_id)
        except NotFound:
            next_run_at = None
        except Unavailable:
            next_run_at = next_fire_time(schedule, self._clock())
        await self._repository.record_run(
            project_id, schedule_id, ran_at, outcome[:OUTCOME_MAX_LENGTH], next_run_at, run_key=run_key
        )
        if failure_key is not None and outcome.startswith(_FAILED):
            await report_failure(
                self._reports,
                Failure.SCHEDULE_RUN,
                project_id=schedule.project_id,
                agent_id=schedule.agent_id or "",
                detail=f"schedule {schedule_id}: {outcome}",
                key=failure_key,
                subject=f"schedule {schedule_id}",  # the monitor counts each schedule's failures apart
            )
