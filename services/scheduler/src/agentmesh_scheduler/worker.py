"""The scheduler's Temporal worker: its workflows and activities on one task queue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from agentmesh_scheduler.activities import JobActivities, ScheduleActivities
from agentmesh_scheduler.workflows import JobWorkflow, ScheduledMessageWorkflow

WORKFLOWS = [ScheduledMessageWorkflow, JobWorkflow]


def build_worker(
    client: Client,
    task_queue: str,
    activities: ScheduleActivities,
    job_activities: JobActivities | None = None,
    shutdown_grace_seconds: float = 10.0,
) -> Worker:
    """A worker for the scheduler's workflows and activities (run it with `await worker.run()`).

    On shutdown, running activities get shutdown_grace_seconds to finish
    before they are cancelled (Temporal retries them elsewhere).
    """
    registered: list[Callable[..., Any]] = [
        activities.send_scheduled_message,
        activities.start_scheduled_job,
        activities.record_run_outcome,
    ]
    if job_activities is not None:
        registered += [
            job_activities.start_step,
            job_activities.await_reply,
            job_activities.cancel_turn,
            job_activities.record_progress,
        ]
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=registered,
        graceful_shutdown_timeout=timedelta(seconds=shutdown_grace_seconds),
    )


class WorkflowIdsFilter(logging.Filter):
    """Adds the workflow and run ids to every record logged inside an activity.

    Workflow code logs through workflow.logger, which adds them itself
    (`temporal_workflow`); activities call domain code that logs plainly.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if activity.in_activity():
            info = activity.info()
            record.workflow_id = info.workflow_id
            record.run_id = info.workflow_run_id
        return True


def log_workflow_ids() -> None:
    """Install WorkflowIdsFilter on the root logger's handlers (once)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, WorkflowIdsFilter) for f in handler.filters):
            handler.addFilter(WorkflowIdsFilter())
