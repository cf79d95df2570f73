"""Composition root: settings -> adapters -> domain -> servicer + worker; signals.

`python -m agentmesh_scheduler` runs the gRPC server and the Temporal worker in
one process. Health says NOT_SERVING until the database is migrated and
Temporal answers, then SERVING.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

from temporalio.client import Client
from temporalio.worker import Worker

from agentmesh_core.tokens import IdentityTokens
from agentmesh_db.database import Database
from agentmesh_db.migrations import upgrade_to_head
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.server import ServiceServer, stop_event_on_signals
from agentmesh_observability.logging import configure_logging
from agentmesh_scheduler.activities import ScheduleActivities
from agentmesh_scheduler.adapters.agents_client import AgentsClient
from agentmesh_scheduler.adapters.repository import SqlScheduleRepository
from agentmesh_scheduler.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.rpc.servicer import SERVICE_NAME, SchedulerServicer, register
from agentmesh_scheduler.settings import SchedulerSettings
from agentmesh_scheduler.worker import build_worker, connect_temporal

log = logging.getLogger(__name__)
T = TypeVar("T")


async def _migrate(database: Database, timeout_seconds: float) -> None:
    """Apply migrations, waiting for PostgreSQL to accept connections."""
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    while not await database.ping():
        if asyncio.get_running_loop().time() >= deadline:
            raise TimeoutError("database did not become reachable")
        log.info("waiting for the database")
        await asyncio.sleep(1.0)
    await asyncio.to_thread(upgrade_to_head, database.engine, MIGRATIONS_DIR, SCHEMA)


async def _unless_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """Await work, but give up (cancelling it) as soon as stop is set; None then."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def serve(settings: SchedulerSettings, stop: asyncio.Event) -> None:
    """Run the server and the worker until stop is set (or the worker fails)."""
    tokens = IdentityTokens(settings.internal_secret.get_secret_value())
    database = Database(settings.database_url)
    agents_channel = create_channel(settings.agents_service_addr, tokens, settings.agents_timeout_seconds)
    agents = AgentsClient(agents_channel, settings.agents_timeout_seconds)
    repository = SqlScheduleRepository(database)
    engine = TemporalScheduleEngine(settings.task_queue, rpc_timeout_seconds=settings.temporal_rpc_timeout_seconds)
    scheduler = Scheduler(repository, engine, agents)
    activities = ScheduleActivities(repository, engine, agents)

    server = ServiceServer(tokens, settings.scheduler_listen_addr)
    server.add_service(SERVICE_NAME, register(SchedulerServicer(scheduler)))
    worker: Worker | None = None
    try:
        await server.start()
        log.info("scheduler listening on %s (port %d)", settings.scheduler_listen_addr, server.port)
        client = await _unless_stopped(stop, _connect(settings, database))
        if client is None:
            return
        engine.attach(client)
        worker = build_worker(client, settings.task_queue, activities, settings.shutdown_grace_seconds)
        worker_task = asyncio.create_task(worker.run(), name="temporal-worker")
        await server.set_serving()
        log.info("scheduler ready: temporal %s, task queue %s", settings.temporal_address, settings.task_queue)
        await _unless_stopped(stop, asyncio.shield(worker_task))
        if worker_task.done():
            # The worker only returns early on a fatal error: exit so the platform restarts us.
            worker_task.result()
            raise RuntimeError("temporal worker stopped unexpectedly")
    finally:
        log.info("scheduler stopping")
        await server.stop(settings.shutdown_grace_seconds)
        if worker is not None and worker.is_running:
            await worker.shutdown()
        await agents_channel.close()
        database.dispose()
        log.info("scheduler stopped")


async def _connect(settings: SchedulerSettings, database: Database) -> Client:
    await _migrate(database, settings.startup_timeout_seconds)
    return await connect_temporal(
        settings.temporal_address, settings.temporal_namespace, settings.startup_timeout_seconds
    )


async def main() -> None:
    """Build settings, then serve until SIGTERM or SIGINT."""
    settings = SchedulerSettings()  # type: ignore[call-arg]
    configure_logging("scheduler", settings.log_level)
    stop = stop_event_on_signals()
    await serve(settings, stop)


def run() -> None:
    """Console entry point."""
    asyncio.run(main())
