"""Multi-step jobs of a project: start and cancel as an admin, read as a member."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from agentmesh_gateway.deps import AdminScope, SchedulerDep, Scope, path_id
from agentmesh_gateway.schemas.common import Cursor, Limit, Page
from agentmesh_gateway.schemas.jobs import JobIn, JobOut, JobStatus

router = APIRouter(prefix="/projects/{project_id}/jobs", tags=["jobs"])


@router.post("", response_model=JobOut, status_code=status.HTTP_201_CREATED)
async def create_job(body: JobIn, scope: AdminScope, scheduler: SchedulerDep) -> JobOut:
    """Start a job: a Temporal workflow `project-<p>-job-<j>` that runs the steps as their dependencies complete.

    A plan the scheduler refuses (a cycle, an unknown or foreign agent, a duplicate step id, a reference
    to a step the step does not depend on) is a 400 whose message names the step.
    """
    with scope.acting():
        return await scheduler.create_job(scope.project.id, body)


@router.get("", response_model=Page[JobOut])
async def list_jobs(
    scope: Scope,
    scheduler: SchedulerDep,
    status: Annotated[JobStatus | None, Query(description="only jobs in this status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[JobOut]:
    """The project's jobs, newest first."""
    with scope.acting():
        return await scheduler.list_jobs(scope.project.id, status, limit, cursor or "")


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: str, scope: Scope, scheduler: SchedulerDep) -> JobOut:
    """The job, each step's status, attempts, output and error, and its workflow in the Temporal UI."""
    with scope.acting():
        return await scheduler.get_job(scope.project.id, path_id(job_id, "job"))


@router.post("/{job_id}/cancel", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
async def cancel_job(job_id: str, scope: AdminScope, scheduler: SchedulerDep) -> JobOut:
    """Cancel the job's workflow; its status becomes `cancelled` once the workflow stopped.

    Agent turns already running are not cancelled yet (the agents service has no cancel RPC).
    """
    with scope.acting():
        return await scheduler.cancel_job(scope.project.id, path_id(job_id, "job"))
