"""The job use cases: start, read, list and cancel multi-step jobs.

Scope is checked first, as for schedules. A job's row is written before its
workflow starts; if the start fails the job stays `pending` and the start-up
reconcile (start_pending) starts it, as does a repeated create with the same
idempotency key, so an accepted job is never lost and never started twice
(the workflow id is the job's).

Cancelling stops the job's workflow; the workflow cancels the agents' turns on
the messages of the steps that were running (AgentService.CancelMessage).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from agentmesh_core.errors import AgentmeshError, NotFound
from agentmesh_core.identity import Identity, project_in_scope
from agentmesh_core.ids import new_id, parse_id
from agentmesh_core.pagination import decode_time_key, next_time_key, page_size
from agentmesh_scheduler.domain import job_plan
from agentmesh_scheduler.domain.jobs import Job, JobDraft, JobStatus, StepState, job_workflow_id
from agentmesh_scheduler.domain.ports import AgentDirectory, Clock, JobEngine, JobRepository
from agentmesh_scheduler.domain.scheduler import utc_now

log = logging.getLogger(__name__)

PENDING_BATCH = 200


class Jobs:
    """Multi-step jobs on behalf of an identified caller."""

    def __init__(
        self,
        repository: JobRepository,
        engine: JobEngine,
        agents: AgentDirectory,
        ui_link: Callable[[str], str] = lambda workflow_id: "",
        clock: Clock = utc_now,
    ) -> None:
        self._repository = repository
        self._engine = engine
        self._agents = agents
        self._ui_link = ui_link
        self._clock = clock

    async def create(self, identity: Identity, project_id: str, draft: JobDraft | None) -> Job:
        """Validate the plan, check every step's agent, store the job, start its workflow."""
        project_id = project_in_scope(identity, project_id, admin=True)
        name, key, steps = job_plan.plan(draft)
        await job_plan.require_agents(self._agents, project_id, steps)
        now = self._clock()
        job_id = new_id()
        job = Job(
            id=job_id,
            project_id=project_id,
            name=name,
            status=JobStatus.PENDING,
            steps=tuple(StepState(spec) for spec in steps),
            workflow_id=job_workflow_id(project_id, job_id),
            created_at=now,
            updated_at=now,
            idempotency_key=key,
        )
        stored = await self._repository.add(job)
        if stored.id != job.id:
            log.info("job %s already exists for idempotency key", stored.id)
        if stored.status is JobStatus.PENDING:
            await self._start(stored)
        return self._shown(stored)

    async def get(self, identity: Identity, project_id: str, job_id: str) -> Job:
        """One job with every step's state."""
        return self._shown(await self._load(identity, project_id, job_id, admin=False))

    async def list_page(
        self, identity: Identity, project_id: str, status: JobStatus | None, requested_size: int, cursor: str
    ) -> tuple[list[Job], str]:
        """A page of the project's jobs, newest first, and the next cursor."""
        project_id = project_in_scope(identity, project_id, admin=False)
        limit = page_size(requested_size)
        jobs = await self._repository.list_page(project_id, status, decode_time_key(cursor), limit)
        return [self._shown(job) for job in jobs], next_time_key(jobs, limit, lambda job: (job.created_at, job.id))

    async def cancel(self, identity: Identity, project_id: str, job_id: str) -> Job:
        """Ask the job's workflow to stop (a finished job stays as it is).

        The workflow records `cancelled` once it has stopped its steps and
        cancelled the agents' turns on their messages.
        """
        job = await self._load(identity, project_id, job_id, admin=True)
        if not job.status.is_final:
            cancelled = await self._engine.cancel(job.workflow_id)
            log.info("cancel of job %s requested (workflow running: %s)", job.id, cancelled)
        return self._shown(job)

    async def delete_project(self, identity: Identity, project_id: str) -> int:
        """Cancel and remove every job of a project (the project is being deleted)."""
        project_id = project_in_scope(identity, project_id, admin=True)
        removed = await self._repository.remove_project(project_id)
        for job in removed:
            if not job.status.is_final:
                try:
                    await self._engine.cancel(job.workflow_id)
                except AgentmeshError:
                    log.warning("could not cancel job %s of a deleted project", job.id)
        return len(removed)

    async def start_pending(self) -> int:
        """Start every job whose workflow never started (a crash or Temporal outage at create)."""
        started = 0
        for job in await self._repository.list_pending(PENDING_BATCH):
            try:
                await self._engine.start(job)
                started += 1
            except AgentmeshError as error:
                log.warning("could not start pending job %s: %s", job.id, error.message)
        if started:
            log.info("started %d pending jobs", started)
        return started

    async def _start(self, job: Job) -> None:
        try:
            await self._engine.start(job)
        except AgentmeshError as error:
            # Stored, so not lost: a retry with the same key or the next start-up starts it.
            log.warning("job %s stays pending: %s", job.id, error.message)

    async def _load(self, identity: Identity, project_id: str, job_id: str, *, admin: bool) -> Job:
        project_id = project_in_scope(identity, project_id, admin=admin)
        job = await self._repository.get(project_id, parse_id(job_id, "job_id"))
        if job is None:
            raise NotFound("job not found")
        return job

    def _shown(self, job: Job) -> Job:
        return dataclasses.replace(job, temporal_ui_url=self._ui_link(job.workflow_id))
