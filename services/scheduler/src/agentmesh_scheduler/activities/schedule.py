"""Temporal activities of a scheduled run: send the payload or start the job, record the outcome.

Activities are methods of one class that receives its clients (composition in
worker.py/main.py). They act as the scheduler's service identity, so the
agents service records the sender as SYSTEM "scheduler".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentmesh_core.errors import AgentmeshError, DeadlineExceeded, Unavailable
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_grpc.identity import acting_as
from agentmesh_observability import context
from agentmesh_scheduler.domain.failures import FailureReports
from agentmesh_scheduler.domain.ports import JobStarter, MessageSender, ScheduleEngine, ScheduleRepository
from agentmesh_scheduler.domain.runs import ScheduleRuns

log = logging.getLogger(__name__)

SCHEDULER_IDENTITY = Identity(subject="scheduler", role=GlobalRole.SERVICE)

# ApplicationError types that carry a client-safe message (our error vocabulary).
ERROR_TYPE_PREFIX = "agentmesh."
_RETRYABLE = (Unavailable, DeadlineExceeded)


@dataclass
class SendMessageInput:
    """What send_scheduled_message needs; idempotency_key is stable across retries."""

    project_id: str
    schedule_id: str
    agent_id: str
    payload_json: str
    idempotency_key: str


@dataclass
class StartJobInput:
    """What start_scheduled_job needs; idempotency_key is stable across retries (one job per firing)."""

    project_id: str
    schedule_id: str
    idempotency_key: str


@dataclass
class RecordRunInput:
    """One run's outcome, to store on the schedule."""

    project_id: str
    schedule_id: str
    ran_at: datetime
    outcome: str


def application_error(error: AgentmeshError) -> ApplicationError:
    """A domain error as Temporal sees it: retried only when the fault is transient."""
    return ApplicationError(
        error.message,
        type=ERROR_TYPE_PREFIX + error.code,
        non_retryable=not isinstance(error, _RETRYABLE),
    )


class ScheduleActivities:
    """The activities the scheduler's worker registers."""

    def __init__(
        self,
        repository: ScheduleRepository,
        engine: ScheduleEngine,
        sender: MessageSender,
        jobs: JobStarter | None = None,
        reports: FailureReports | None = None,
    ) -> None:
        self._runs = ScheduleRuns(repository, engine, sender, jobs, reports=reports)

    @activity.defn(name="send_scheduled_message")
    async def send_scheduled_message(self, input: SendMessageInput) -> str:
        """Send the payload to the agent; returns the outcome ("sent message <id>")."""
        try:
            payload = json.loads(input.payload_json)
        except ValueError:
            raise ApplicationError(
                "invalid payload", type=ERROR_TYPE_PREFIX + "invalid_argument", non_retryable=True
            ) from None
        with acting_as(SCHEDULER_IDENTITY), context.bind(project_id=input.project_id, agent_id=input.agent_id):
            try:
                return await self._runs.send(
                    project_id=input.project_id,
                    schedule_id=input.schedule_id,
                    agent_id=input.agent_id,
                    payload=payload,
                    idempotency_key=input.idempotency_key,
                )
            except AgentmeshError as error:
                log.warning("schedule %s could not send: %s", input.schedule_id, error.message)
                raise application_error(error) from None

    @activity.defn(name="start_scheduled_job")
    async def start_scheduled_job(self, input: StartJobInput) -> str:
        """Start one job from the schedule's template; returns the outcome ("started job <id>")."""
        with acting_as(SCHEDULER_IDENTITY), context.bind(project_id=input.project_id):
            try:
                return await self._runs.start_job(
                    identity=SCHEDULER_IDENTITY,
                    project_id=input.project_id,
                    schedule_id=input.schedule_id,
                    idempotency_key=input.idempotency_key,
                )
            except AgentmeshError as error:
                log.warning("schedule %s could not start its job: %s", input.schedule_id, error.message)
                raise application_error(error) from None

    @activity.defn(name="record_run_outcome")
    async def record_run_outcome(self, input: RecordRunInput) -> None:
        """Store last run time and outcome (and the run among the recent ones), refresh the next run time.

        A failed run is reported to the monitor (as the scheduler, through the agents service).
        """
        info = activity.info()
        with acting_as(SCHEDULER_IDENTITY), context.bind(project_id=input.project_id):
            try:
                await self._runs.record(
                    project_id=input.project_id,
                    schedule_id=input.schedule_id,
                    ran_at=input.ran_at,
                    outcome=input.outcome,
                    # One firing is one workflow id (Temporal appends the fire time).
                    run_key=info.workflow_id,
                    # One run, however often this activity is retried.
                    failure_key=f"{info.workflow_id}:{info.workflow_run_id}",
                )
            except AgentmeshError as error:
                raise application_error(error) from None
