"""ScheduledMessageWorkflow: what a Temporal Schedule starts each time it fires.

A message schedule's run sends its payload; a job schedule's run (input.job set)
starts one job from the schedule's template instead. Inputs recorded before job
targets existed decode with job False and replay the message path unchanged.

Deterministic by construction: no I/O here, only activities; time comes from
workflow.now(). The worker's sandbox re-imports this module, so it has no side
effects at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from agentmesh_scheduler.activities.schedule import (
        ERROR_TYPE_PREFIX,
        RecordRunInput,
        ScheduleActivities,
        SendMessageInput,
        StartJobInput,
    )
    from agentmesh_scheduler.domain.runs import failed_outcome

WORKFLOW_NAME = "ScheduledMessageWorkflow"

SEND_TIMEOUT = timedelta(seconds=30)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)


@dataclass
class ScheduledMessageInput:
    """The one input of a scheduled run; payload_json is the payload as JSON text."""

    project_id: str
    schedule_id: str
    agent_id: str
    payload_json: str
    # True for a job schedule: the run starts a job from the schedule's template.
    job: bool = False


def _reason(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError) and (cause.type or "").startswith(ERROR_TYPE_PREFIX):
        return cause.message
    if isinstance(cause, ActivityTimeoutError):
        return "timed out"
    return "internal error"


@workflow.defn(name=WORKFLOW_NAME)
class ScheduledMessageWorkflow:
    """Sends the schedule's payload to its agent, then records the outcome."""

    @workflow.run
    async def run(self, input: ScheduledMessageInput) -> str:
        info = workflow.info()
        ran_at = workflow.now()
        # Stable across activity retries (same run), unique per firing (Temporal
        # appends the fire time to the workflow id), so an agent never gets a
        # firing twice.
        idempotency_key = f"{info.workflow_id}:{info.run_id}"
        try:
            if input.job:
                outcome = await workflow.execute_activity_method(
                    ScheduleActivities.start_scheduled_job,
                    StartJobInput(
                        project_id=input.project_id,
                        schedule_id=input.schedule_id,
                        idempotency_key=idempotency_key,
                    ),
                    start_to_close_timeout=SEND_TIMEOUT,
                    retry_policy=SEND_RETRY,
                )
            else:
                outcome = await self._send(input, idempotency_key)
        except ActivityError as error:
            outcome = failed_outcome(_reason(error))
        await workflow.execute_activity_method(
            ScheduleActivities.record_run_outcome,
            RecordRunInput(
                project_id=input.project_id,
                schedule_id=input.schedule_id,
                ran_at=ran_at,
                outcome=outcome,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
        return outcome

    async def _send(self, input: ScheduledMessageInput, idempotency_key: str) -> str:
        return await workflow.execute_activity_method(
            ScheduleActivities.send_scheduled_message,
            SendMessageInput(
                project_id=input.project_id,
                schedule_id=input.schedule_id,
                agent_id=input.agent_id,
                payload_json=input.payload_json,
                idempotency_key=idempotency_key,
            ),
            start_to_close_timeout=SEND_TIMEOUT,
            retry_policy=SEND_RETRY,
        )
