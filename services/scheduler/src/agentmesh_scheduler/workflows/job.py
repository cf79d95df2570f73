"""JobWorkflow: a graph of agent steps, run as their dependencies complete.

Steps whose dependencies are done start together (fan-out); a step starts once
all of its dependencies completed (fan-in); its input's `{{steps.<id>.output}}`
references are replaced by those outputs. Each attempt of a step is one
message to its agent (idempotency key from job, step and attempt, so a retried
send never makes a second message), then a wait for the reply that holds no
worker slot (see activities/jobs.py). A step that fails its last attempt fails
the job: the steps still running are cancelled, those not started skipped.
A cancelled job cancels its steps' waits and the agents' turns on their
messages (and so what those turns delegated); so does a step whose failure
stops its running siblings. Every change of state is reported to PostgreSQL in
order (seq).

Deterministic: no I/O here, time from workflow.now(), tasks created and
collected in the steps' order.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from agentmesh_scheduler.activities.jobs import (
        STEP_FAILED,
        STILL_WAITING,
        AwaitReplyInput,
        JobActivities,
        ProgressInput,
        SentStep,
        StartStepInput,
        StepProgressInput,
    )
    from agentmesh_scheduler.activities.schedule import ERROR_TYPE_PREFIX
    from agentmesh_scheduler.domain import job_plan

JOB_WORKFLOW_NAME = "JobWorkflow"

START_TIMEOUT = timedelta(seconds=30)
START_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=10
)
# The polling schedule for a reply: looks after 0.2 s, then ever less often, at
# most every 5 s, until the step's timeout (schedule-to-close) ends it.
POLL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=0,
    non_retryable_error_types=[STEP_FAILED],
)
POLL_ATTEMPT_TIMEOUT = timedelta(seconds=15)
CANCEL_TIMEOUT = timedelta(seconds=15)
CANCEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=5
)
# The workflow.patched() id of cancelling agents' turns (histories recorded before it hold no marker).
CANCEL_TURNS_PATCH = "cancel-agent-turns"

RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@dataclass
class JobStepInput:
    """One step; input_json is its input as JSON text (references not yet replaced)."""

    id: str
    agent_id: str
    input_json: str
    depends_on: list[str] = field(default_factory=list)
    max_attempts: int = 1
    backoff_seconds: float = 0.0
    timeout_seconds: float = 600.0


@dataclass
class JobInput:
    """The one input of a job's workflow."""

    project_id: str
    job_id: str
    name: str
    steps: list[JobStepInput]


@dataclass
class _Outcome:
    ok: bool
    output_json: str | None = None
    error: str | None = None


def _timed_out(error: ActivityError) -> bool:
    cause = error.cause
    # The step's timeout ends the polling with the last poll's "not yet" as the cause.
    return isinstance(cause, ActivityTimeoutError) or (
        isinstance(cause, ApplicationError) and cause.type == STILL_WAITING
    )


def _reason(error: ActivityError) -> str:
    cause = error.cause
    if _timed_out(error):
        return "timed out waiting for the agent's reply"
    if isinstance(cause, ApplicationError) and (cause.type or "").startswith(ERROR_TYPE_PREFIX):
        return cause.message
    return "internal error"


@workflow.defn(name=JOB_WORKFLOW_NAME)
class JobWorkflow:
    """Runs a job's steps as their dependencies complete, and reports every change."""

    def __init__(self) -> None:
        self._seq = 0
        self._status: dict[str, str] = {}
        self._running: dict[str, asyncio.Task[_Outcome]] = {}

    @workflow.run
    async def run(self, input: JobInput) -> str:
        self._input = input
        self._status = {step.id: "pending" for step in input.steps}
        await self._record(status="running")
        try:
            failed = await self._run_graph()
        except asyncio.CancelledError:
            await self._stop_running()
            left = [step for step, status in self._status.items() if status not in ("completed", "failed")]
            await self._record(status="cancelled", steps=[StepProgressInput(s, "cancelled") for s in left])
            workflow.logger.info("job %s cancelled", input.job_id)
            raise
        if failed is not None:
            step_id, error = failed
            skipped = [step for step, status in self._status.items() if status in ("pending", "cancelled")]
            await self._record(
                status="failed",
                error=f"step {step_id!r} failed: {error}",
                failed_step_id=step_id,
                steps=[StepProgressInput(s, self._status[s] if self._status[s] == "cancelled" else "skipped")
                       for s in skipped],
            )  # fmt: skip
            raise ApplicationError(f"step {step_id!r} failed: {error}", type=ERROR_TYPE_PREFIX + "job_failed",
                                   non_retryable=True)  # fmt: skip
        await self._record(status="completed")
        return "completed"

    async def _run_graph(self) -> tuple[str, str] | None:
        """Run every step; (step id, error) of the first that failed, else None."""
        steps = self._input.steps
        outputs: dict[str, str] = {}
        failed: tuple[str, str] | None = None
        while True:
            if failed is None:
                for step in steps:
                    ready = all(self._status[d] == "completed" for d in step.depends_on)
                    if self._status[step.id] == "pending" and ready:
                        self._status[step.id] = "running"
                        self._running[step.id] = asyncio.create_task(self._run_step(step, dict(outputs)))
            if not self._running:
                return failed
            await workflow.wait(list(self._running.values()), return_when=asyncio.FIRST_COMPLETED)
            for step in steps:
                task = self._running.get(step.id)
                if task is None or not task.done():
                    continue
                del self._running[step.id]
                outcome = task.result()
                if outcome.ok and outcome.output_json is not None:
                    self._status[step.id] = "completed"
                    outputs[step.id] = outcome.output_json
                else:
                    self._status[step.id] = "failed"
                    failed = failed or (step.id, outcome.error or "failed")
            if failed is not None:
                await self._stop_running()

    async def _stop_running(self) -> None:
        running = list(self._running.items())
        for _, task in running:
            task.cancel()
        if running:
            await workflow.wait([task for _, task in running])
        for step_id, _ in running:
            self._status[step_id] = "cancelled"
        self._running.clear()

    async def _run_step(self, step: JobStepInput, outputs: dict[str, str]) -> _Outcome:
        waiting_on: list[AwaitReplyInput] = []  # the attempt whose reply is awaited, if any
        try:
            return await self._attempt_step(step, outputs, waiting_on)
        except asyncio.CancelledError:
            if waiting_on:
                await self._cancel_turn(waiting_on[-1])
            raise

    async def _cancel_turn(self, awaited: AwaitReplyInput) -> None:
        """Stop the agent's turn on a message the job waits for no more."""
        # Histories recorded before this existed replay without it (they hold no marker).
        if workflow.patched(CANCEL_TURNS_PATCH):
            await workflow.execute_activity_method(
                JobActivities.cancel_turn, awaited, start_to_close_timeout=CANCEL_TIMEOUT, retry_policy=CANCEL_RETRY
            )

    async def _attempt_step(
        self, step: JobStepInput, outputs: dict[str, str], waiting_on: list[AwaitReplyInput]
    ) -> _Outcome:
        values = {step_id: json.loads(text) for step_id, text in outputs.items()}
        content_json = json.dumps(job_plan.render(json.loads(step.input_json), values), ensure_ascii=False)
        info = workflow.info()
        error = "failed"
        for attempt in range(1, step.max_attempts + 1):
            awaited: AwaitReplyInput | None = None
            try:
                sent: SentStep = await workflow.execute_activity_method(
                    JobActivities.start_step,
                    StartStepInput(
                        self._input.project_id,
                        self._input.job_id,
                        step.id,
                        attempt,
                        step.agent_id,
                        content_json,
                        self._next_seq(),
                        workflow.now(),
                    ),
                    start_to_close_timeout=START_TIMEOUT,
                    retry_policy=START_RETRY,
                )
                timeout = timedelta(seconds=step.timeout_seconds)
                awaited = AwaitReplyInput(
                    self._input.project_id, self._input.job_id, step.id, sent.message_id, sent.conversation_id
                )
                waiting_on.append(awaited)
                output_json = await workflow.execute_activity_method(
                    JobActivities.await_reply,
                    awaited,
                    schedule_to_close_timeout=timeout,
                    start_to_close_timeout=min(POLL_ATTEMPT_TIMEOUT, timeout),
                    retry_policy=POLL_RETRY,
                )
            except ActivityError as failure:
                if isinstance(failure.cause, CancelledError):
                    # This step is being cancelled (the job was, or a sibling failed): not an attempt's failure.
                    raise asyncio.CancelledError from None
                error = _reason(failure)
                if awaited is not None and _timed_out(failure):
                    await self._cancel_turn(awaited)  # the step timed out; its agent may still be at it
                last = attempt == step.max_attempts
                workflow.logger.warning(
                    "job %s step %s attempt %d failed: %s", info.workflow_id, step.id, attempt, error
                )
                ended = workflow.now() if last else None
                status = "failed" if last else "running"
                await self._record(steps=[StepProgressInput(step.id, status, attempt, None, error, ended)])
                if not last and step.backoff_seconds > 0:
                    await workflow.sleep(timedelta(seconds=step.backoff_seconds))
                continue
            done = StepProgressInput(step.id, "completed", attempt, output_json, "", workflow.now())
            await self._record(steps=[done])
            return _Outcome(True, output_json=output_json)
        return _Outcome(False, error=error)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def _record(
        self,
        *,
        status: str | None = None,
        error: str | None = None,
        failed_step_id: str | None = None,
        steps: list[StepProgressInput] | None = None,
    ) -> None:
        progress = ProgressInput(
            self._input.project_id, self._input.job_id, self._next_seq(), status, error, failed_step_id,
            workflow.now(), steps or [],
        )  # fmt: skip
        await workflow.execute_activity_method(
            JobActivities.record_progress, progress, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RECORD_RETRY
        )
