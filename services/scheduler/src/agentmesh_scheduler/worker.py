"""The scheduler's Temporal worker: ScheduledMessageWorkflow and its activities on one task queue."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from agentmesh_core.errors import Unavailable
from agentmesh_scheduler.activities import ScheduleActivities
from agentmesh_scheduler.workflows import ScheduledMessageWorkflow

log = logging.getLogger(__name__)

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


async def connect_temporal(address: str, namespace: str, timeout_seconds: float) -> Client:
    """Connect to Temporal, retrying until it answers or the timeout passes."""
    deadline = time.monotonic() + timeout_seconds
    delay = 0.2
    while True:
        try:
            client = await Client.connect(address, namespace=namespace)
            await client.service_client.check_health()
            return client
        except (RuntimeError, OSError, RPCError) as error:
            if time.monotonic() >= deadline:
                raise Unavailable("temporal unavailable") from error
            log.info("waiting for temporal at %s: %s", address, type(error).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
