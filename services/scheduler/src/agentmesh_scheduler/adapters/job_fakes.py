"""In-memory stand-ins for the job ports (unit and service tests).

The adapter suites run the same cases over these and the real adapters, so
the fakes stay honest.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from agentmesh_core.errors import AgentmeshError
from agentmesh_scheduler.domain.jobs import Job, JobProgress, JobStatus, StepState


def _apply_step(state: StepState, update: Any) -> StepState:
    changes: dict[str, Any] = {"status": update.status}
    for name in ("attempts", "output", "sent_input", "message_id", "started_at", "ended_at"):
        value = getattr(update, name)
        if value is not None:
            changes[name] = value
    if update.error is not None:
        changes["error"] = update.error or None
    return dataclasses.replace(state, **changes)


class InMemoryJobRepository:
    """JobRepository in a dict (with the same last-report-wins rule per row)."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.seqs: dict[tuple[str, str], int] = {}

    async def add(self, job: Job) -> Job:
        if job.idempotency_key:
            for existing in self.jobs.values():
                if existing.project_id == job.project_id and existing.idempotency_key == job.idempotency_key:
                    return existing
        self.jobs[job.id] = job
        return job

    async def get(self, project_id: str, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return job if job and job.project_id == project_id else None

    async def list_page(
        self, project_id: str, status: JobStatus | None, before: tuple[datetime, str] | None, limit: int
    ) -> list[Job]:
        mine = [
            j
            for j in self.jobs.values()
            if j.project_id == project_id
            and (status is None or j.status is status)
            and (before is None or (j.created_at, j.id) < before)
        ]
        mine.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        return mine[:limit]

    async def record(self, progress: JobProgress) -> bool:
        job = await self.get(progress.project_id, progress.job_id)
        if job is None:
            return False
        if progress.status is not None and self.seqs.get((job.id, ""), 0) < progress.seq:
            self.seqs[(job.id, "")] = progress.seq
            changes: dict[str, Any] = {"status": progress.status}
            if progress.at is not None:
                changes["updated_at"] = progress.at
                if progress.status.is_final:
                    changes["ended_at"] = progress.at
            if progress.error is not None:
                changes["error"] = progress.error
            if progress.failed_step_id is not None:
                changes["failed_step_id"] = progress.failed_step_id
            job = dataclasses.replace(job, **changes)
        steps = list(job.steps)
        for update in progress.steps:
            for index, state in enumerate(steps):
                key = (job.id, update.step_id)
                if state.spec.id == update.step_id and self.seqs.get(key, 0) < progress.seq:
                    self.seqs[key] = progress.seq
                    steps[index] = _apply_step(state, update)
        self.jobs[job.id] = dataclasses.replace(job, steps=tuple(steps))
        return True

    async def list_pending(self, limit: int) -> list[Job]:
        pending = [j for j in self.jobs.values() if j.status is JobStatus.PENDING]
        return sorted(pending, key=lambda j: j.created_at)[:limit]

    async def remove_project(self, project_id: str) -> list[Job]:
        removed = [j for j in self.jobs.values() if j.project_id == project_id]
        for job in removed:
            del self.jobs[job.id]
        return removed


class FakeJobEngine:
    """JobEngine that records starts and cancels; set `fail_with` to make calls fail."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.fail_with: AgentmeshError | None = None

    async def start(self, job: Job) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        if job.workflow_id not in self.started:
            self.started.append(job.workflow_id)

    async def cancel(self, workflow_id: str) -> bool:
        if self.fail_with is not None:
            raise self.fail_with
        self.cancelled.append(workflow_id)
        return workflow_id in self.started
