"""ScheduledMessageWorkflow: what a Temporal Schedule starts each time it fires.

A message schedule's run sends its payload; a job schedule's run (input.job set)
starts one job from the schedule's template instead. Inputs recorded before job
targets existed decode with job False and replay the message path unchanged.

The send (or the job's start) runs as a local activity, inside the run's first
workflow task: no second task-queue round trip between the fire time and the
message. Runs recorded before that change (no LOCAL_FIRST_ACTION marker) replay
their regular activity.

Deterministic by construction: no I/O here, only activities; time comes from
workflow.now(). The worker's sandbox re-imports this module, so it has no side
effects at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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
# The patch id that marks runs whose first action is a local activity.
LOCAL_FIRST_ACTION = "first-action-as-local-activity"

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


def _reason(error: ActivityError | ApplicationError) -> str:
    # A regular activity's failure comes wrapped in an ActivityError; a local
    # activity's ApplicationError comes as it is (its timeout comes wrapped).
    cause = error.cause if isinstance(error, ActivityError) else error
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
            outcome = await self._first_action(input, idempotency_key)
        except (ActivityError, ApplicationError) as error:
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

    async def _first_action(self, input: ScheduledMessageInput, idempotency_key: str) -> str:
        """Send the message, or start the job; returns the outcome."""
        action: Callable[[ScheduleActivities, Any], Awaitable[str]]
        argument: Any
        if input.job:
            action = ScheduleActivities.start_scheduled_job
            argument = StartJobInput(
                project_id=input.project_id, schedule_id=input.schedule_id, idempotency_key=idempotency_key
            )
        else:
            action = ScheduleActivities.send_scheduled_message
            argument = SendMessageInput(
                project_id=input.project_id,
                schedule_id=input.schedule_id,
                agent_id=input.agent_id,
                payload_json=input.payload_json,
                idempotency_key=idempotency_key,
            )
        if workflow.patched(LOCAL_FIRST_ACTION):
            return await workflow.execute_local_activity_method(
                action, argument, start_to_close_timeout=SEND_TIMEOUT, retry_policy=SEND_RETRY
            )
        return await workflow.execute_activity_method(
            action, argument, start_to_close_timeout=SEND_TIMEOUT, retry_policy=SEND_RETRY
        )
