"""The scheduler's parts, as the service skeleton (agentmesh_grpc.service) runs them.

One process serves SchedulerService and runs the Temporal worker. Health says
NOT_SERVING until the database is migrated and Temporal answers, then SERVING.
Schedule and job calls use a client of their own that gives up on an
unreachable Temporal quickly (AGENTMESH_TEMPORAL_RETRY_SECONDS), and fail at
once while Temporal is known to be down (adapters/temporal_link.py); the worker
keeps the SDK's own retries.
The worker only ends early on a fatal error; the process then exits so the
platform restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from urllib.parse import quote

from temporalio.service import RPCError
from temporalio.worker import Worker

from agentmesh_core.startup import wait_for
from agentmesh_db.database import Database
from agentmesh_db.migrations import migrate
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.service import Listener, Registration
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_scheduler.activities import JobActivities, ScheduleActivities
from agentmesh_scheduler.adapters.agents_client import AgentsClient
from agentmesh_scheduler.adapters.job_repository import SqlJobRepository
from agentmesh_scheduler.adapters.metrics import temporal_interceptors
from agentmesh_scheduler.adapters.repository import SqlScheduleRepository
from agentmesh_scheduler.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_scheduler.adapters.temporal_connection import api_options, connect, connect_options
from agentmesh_scheduler.adapters.temporal_jobs import TemporalJobEngine
from agentmesh_scheduler.adapters.temporal_link import TemporalLink
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.adapters.temporal_search import SearchAttributes, ensure_registered
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.reconcile import ScheduleReconciler
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.rpc.servicer import SERVICE_NAME, SchedulerServicer, register
from agentmesh_scheduler.settings import SchedulerSettings
from agentmesh_scheduler.worker import build_worker, log_workflow_ids

log = logging.getLogger(__name__)


class SchedulerWiring:
    """Repository, Temporal engine and agents client behind the servicer and the worker."""

    name = "scheduler"

    def __init__(self, settings: SchedulerSettings) -> None:
        self._settings = settings
        self.listener = Listener(
            settings.scheduler_listen_addr,
            ServiceKeys.from_settings(self.name, settings),
            settings.shutdown_grace_seconds,
            settings.scheduler_metrics_addr,
        )
        tokens = self.listener.keys.signer
        self._database = Database(settings.database_url)
        self._agents_channel = create_channel(settings.agents_service_addr, tokens, settings.agents_timeout_seconds)
        agents = AgentsClient(self._agents_channel, settings.agents_timeout_seconds)
        repository = SqlScheduleRepository(self._database)
        self._search = SearchAttributes()
        # One view of whether Temporal is reachable, for schedule and job calls alike.
        self._link = TemporalLink()
        self._engine = TemporalScheduleEngine(
            settings.task_queue,
            rpc_timeout_seconds=settings.temporal_rpc_timeout_seconds,
            search_attributes=self._search,
            link=self._link,
        )
        self._reconciler = ScheduleReconciler(repository, self._engine)
        job_repository = SqlJobRepository(self._database)
        self._job_engine = TemporalJobEngine(
            settings.task_queue,
            rpc_timeout_seconds=settings.temporal_rpc_timeout_seconds,
            search_attributes=self._search,
            link=self._link,
        )
        self._namespace = settings.temporal_namespace
        self._jobs = Jobs(job_repository, self._job_engine, agents, ui_link=self._ui_link)
        self.registrations = [
            Registration(
                SERVICE_NAME, register, SchedulerServicer(Scheduler(repository, self._engine, agents), self._jobs)
            )
        ]
        # A job schedule's firing starts its job through the same use case as POST /jobs.
        self._activities = ScheduleActivities(repository, self._engine, agents, self._jobs, reports=agents)
        self._job_activities = JobActivities(job_repository, agents, reports=agents)

    def _ui_link(self, workflow_id: str) -> str:
        """The workflow in the Temporal Web UI."""
        base = self._settings.temporal_ui_url.rstrip("/")
        return f"{base}/namespaces/{quote(self._namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"

    async def start(self, stack: AsyncExitStack, stop: asyncio.Event) -> Sequence[asyncio.Task[None]]:
        settings = self._settings
        stack.callback(self._database.dispose)
        stack.push_async_callback(self._agents_channel.close)
        log_workflow_ids()
        await migrate(self._database, MIGRATIONS_DIR, SCHEMA, stop=stop, timeout=settings.startup_timeout_seconds)
        explicit = settings.model_fields_set
        options = connect_options(
            settings.temporal_address if "temporal_address" in explicit else None,
            settings.temporal_namespace if "temporal_namespace" in explicit else None,
            default_address=settings.temporal_address,
            default_namespace=settings.temporal_namespace,
        )
        options["interceptors"] = temporal_interceptors()
        client = await wait_for(
            f"temporal at {options['target_host']}",
            lambda: connect(options),
            stop,
            timeout=settings.startup_timeout_seconds,
            retry_on=(RuntimeError, OSError, RPCError),
            first_delay=0.2,
            max_delay=2.0,
        )
        self._namespace = options["namespace"]
        self._search.enabled = await ensure_registered(client, self._namespace)
        self._link.attach(await connect(api_options(options, settings.temporal_retry_seconds)))
        stack.push_async_callback(self._link.close)
        # Before the worker polls: a schedule whose row and Temporal Schedule
        # drifted apart (a crash between their writes) is repaired first, and a
        # job stored while its start failed is started.
        await self._reconciler.reconcile()
        await self._jobs.start_pending()
        worker = build_worker(
            client, settings.task_queue, self._activities, self._job_activities, settings.shutdown_grace_seconds
        )
        running = asyncio.create_task(worker.run(), name="temporal worker")
        stack.push_async_callback(_shut_down, worker, running)
        log.info("scheduler ready: temporal %s, task queue %s", options["target_host"], settings.task_queue)
        return [running]


async def _shut_down(worker: Worker, running: asyncio.Task[None]) -> None:
    """Let running activities finish (within the grace period), then stop polling."""
    if worker.is_running:
        await worker.shutdown()
    # Its outcome was already reported if it ended early; here it only has to be over.
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await running
