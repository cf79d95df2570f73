"""The scheduler's Temporal worker: ScheduledMessageWorkflow and its activities on one task queue."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from agentmesh_scheduler.activities import ScheduleActivities
from agentmesh_scheduler.workflows import ScheduledMessageWorkflow

WORKFLOWS = [ScheduledMessageWorkflow]


def build_worker(
    client: Client, task_queue: str, activities: ScheduleActivities, shutdown_grace_seconds: float = 10.0
) -> Worker:
    """A worker for the scheduler's workflow and activities (run it with `await worker.run()`).

    On shutdown, running activities get shutdown_grace_seconds to finish
    before they are cancelled (Temporal retries them elsewhere).
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[activities.send_scheduled_message, activities.record_run_outcome],
        graceful_shutdown_timeout=timedelta(seconds=shutdown_grace_seconds),
    )


async def connect_temporal(address: str, namespace: str) -> Client:
    """Connect to Temporal and check that it answers (one attempt; the wiring retries it)."""
    client = await Client.connect(address, namespace=namespace)
    await client.service_client.check_health()
    return client
