"""One suite over InMemoryJobRepository and SqlJobRepository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_core.ids import new_id
from agentmesh_db.database import Database
from agentmesh_scheduler.adapters.job_fakes import InMemoryJobRepository
from agentmesh_scheduler.adapters.job_repository import SqlJobRepository
from agentmesh_scheduler.domain.jobs import (
    Job,
    JobProgress,
    JobStatus,
    StepSpec,
    StepState,
    StepStatus,
    StepUpdate,
    job_workflow_id,
)
from agentmesh_scheduler.domain.ports import JobRepository

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "postgres"])
def any_job_repository(request: pytest.FixtureRequest) -> JobRepository:
    if request.param == "memory":
        return InMemoryJobRepository()
    database: Database = request.getfixturevalue("database")
    return SqlJobRepository(database)


def _job(project_id: str, created_at: datetime = NOW, key: str = "") -> Job:
    job_id = new_id()
    spec_a = StepSpec("a", new_id(), {"ask": "data", "n": [1, None]}, (), 1, 5.0, 600.0)
    spec_b = StepSpec("b", new_id(), "sum {{steps.a.output}}", ("a",), 3, 0.5, 30.0)
    return Job(
        id=job_id,
        project_id=project_id,
        name="report",
        status=JobStatus.PENDING,
        steps=(StepState(spec_a), StepState(spec_b)),
        workflow_id=job_workflow_id(project_id, job_id),
        created_at=created_at,
        updated_at=created_at,
        idempotency_key=key,
    )


async def test_round_trip_and_idempotency_key(any_job_repository: JobRepository) -> None:
    project_id = new_id()
    job = _job(project_id, key="nightly")
    assert await any_job_repository.add(job) == job
    assert await any_job_repository.get(project_id, job.id) == job
    assert await any_job_repository.get(new_id(), job.id) is None
    again = _job(project_id, key="nightly")
    assert (await any_job_repository.add(again)).id == job.id
    assert (await any_job_repository.add(_job(new_id(), key="nightly"))).id != job.id  # keys are per project
    assert (await any_job_repository.add(_job(project_id))).id != job.id  # no key, no dedup


async def test_progress_applies_in_order_per_row(any_job_repository: JobRepository) -> None:
    project_id = new_id()
    job = _job(project_id)
    await any_job_repository.add(job)
    later = NOW + timedelta(minutes=1)
    running = StepUpdate(
        "a", StepStatus.RUNNING, attempts=1, sent_input={"ask": "data"}, message_id="m1", started_at=NOW
    )
    assert await any_job_repository.record(JobProgress(project_id, job.id, 1, status=JobStatus.RUNNING, at=NOW))
    assert await any_job_repository.record(JobProgress(project_id, job.id, 2, steps=(running,)))
    done = StepUpdate("a", StepStatus.COMPLETED, attempts=1, output="42 rows", error="", ended_at=later)
    await any_job_repository.record(JobProgress(project_id, job.id, 4, steps=(done,)))
    stale = StepUpdate("a", StepStatus.FAILED, error="late")
    await any_job_repository.record(JobProgress(project_id, job.id, 3, status=JobStatus.FAILED, steps=(stale,)))
    b_failed = StepUpdate("b", StepStatus.FAILED, 3, error="x")
    failed = JobProgress(
        project_id, job.id, 5, JobStatus.FAILED, "step 'b' failed: x", failed_step_id="b", at=later, steps=(b_failed,)
    )
    await any_job_repository.record(failed)

    stored = await any_job_repository.get(project_id, job.id)
    assert (stored.status, stored.error, stored.failed_step_id, stored.ended_at) == (
        JobStatus.FAILED, "step 'b' failed: x", "b", later,
    )  # fmt: skip
    a, b = stored.steps
    assert (a.status, a.attempts, a.output, a.error, a.message_id, a.sent_input) == (
        StepStatus.COMPLETED, 1, "42 rows", None, "m1", {"ask": "data"},
    )  # fmt: skip
    assert (a.started_at, a.ended_at) == (NOW, later)
    assert (b.status, b.attempts, b.error) == (StepStatus.FAILED, 3, "x")
    assert await any_job_repository.record(JobProgress(new_id(), job.id, 9)) is False


async def test_lists_pending_and_project_removal(any_job_repository: JobRepository) -> None:
    project_id = new_id()
    jobs = [_job(project_id, NOW + timedelta(seconds=i)) for i in range(3)]
    for job in jobs:
        await any_job_repository.add(job)
    await any_job_repository.record(JobProgress(project_id, jobs[0].id, 1, status=JobStatus.COMPLETED, at=NOW))
    page = await any_job_repository.list_page(project_id, None, None, 2)
    assert [j.id for j in page] == [jobs[2].id, jobs[1].id]
    before = (page[-1].created_at, page[-1].id)
    assert [j.id for j in await any_job_repository.list_page(project_id, None, before, 2)] == [jobs[0].id]
    done = await any_job_repository.list_page(project_id, JobStatus.COMPLETED, None, 9)
    assert [j.id for j in done] == [jobs[0].id]
    pending = {j.id for j in await any_job_repository.list_pending(100)}
    assert {jobs[1].id, jobs[2].id} <= pending and jobs[0].id not in pending
    removed = await any_job_repository.remove_project(project_id)
    assert {j.id for j in removed} == {j.id for j in jobs}
    assert await any_job_repository.get(project_id, jobs[1].id) is None


async def test_keyset_pages_neither_repeat_nor_skip_while_jobs_arrive(any_job_repository: JobRepository) -> None:
    project_id = new_id()
    jobs = [_job(project_id, NOW + timedelta(seconds=i)) for i in range(5)]
    jobs.append(_job(project_id, NOW + timedelta(seconds=2)))  # a tie on time: the id orders the two
    for job in jobs:
        await any_job_repository.add(job)
    expected = sorted(jobs, key=lambda j: (j.created_at, j.id), reverse=True)
    seen: list[Job] = []
    before = None
    for round_ in range(10):
        page = await any_job_repository.list_page(project_id, None, before, 2)
        seen += page
        if len(page) < 2:
            break
        before = (page[-1].created_at, page[-1].id)
        # A newer job arrives between two page reads: an offset would repeat the last one read.
        await any_job_repository.add(_job(project_id, NOW + timedelta(minutes=10 + round_)))
    assert [j.id for j in seen] == [j.id for j in expected]
