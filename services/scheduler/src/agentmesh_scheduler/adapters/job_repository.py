"""JobRepository on PostgreSQL: scheduler.jobs and scheduler.job_steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentmesh_db.database import Database, affected_rows
from agentmesh_scheduler.adapters.tables import job_steps, jobs
from agentmesh_scheduler.domain.jobs import Job, JobProgress, JobStatus, StepSpec, StepState, StepStatus


def _step_from_row(row: Any) -> StepState:
    spec = StepSpec(
        id=row.step_id,
        agent_id=str(row.agent_id),
        input=row.input,
        depends_on=tuple(row.depends_on),
        max_attempts=row.max_attempts,
        backoff_seconds=row.backoff_seconds,
        timeout_seconds=row.timeout_seconds,
    )
    return StepState(
        spec=spec,
        status=StepStatus(row.status),
        attempts=row.attempts,
        output=row.output,
        error=row.error,
        sent_input=row.sent_input,
        message_id=row.message_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def _job_from_row(row: Any, steps: Sequence[StepState]) -> Job:
    return Job(
        id=str(row.id),
        project_id=str(row.project_id),
        name=row.name,
        status=JobStatus(row.status),
        steps=tuple(steps),
        workflow_id=row.workflow_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        idempotency_key=row.idempotency_key,
        error=row.error,
        failed_step_id=row.failed_step_id,
        ended_at=row.ended_at,
    )


def _with_steps(connection: Connection, rows: Sequence[Any]) -> list[Job]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    query = select(job_steps).where(job_steps.c.job_id.in_(ids)).order_by(job_steps.c.job_id, job_steps.c.position)
    steps: dict[str, list[StepState]] = {}
    for step in connection.execute(query):
        steps.setdefault(str(step.job_id), []).append(_step_from_row(step))
    return [_job_from_row(row, steps.get(str(row.id), [])) for row in rows]


def _step_values(progress_step: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"status": progress_step.status.value}
    for name in ("attempts", "output", "sent_input", "message_id", "started_at", "ended_at"):
        value = getattr(progress_step, name)
        if value is not None:
            values[name] = value
    if progress_step.error is not None:
        values["error"] = progress_step.error or None  # "" clears it
    return values


class SqlJobRepository:
    """Jobs in PostgreSQL; every query is scoped by project."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, job: Job) -> Job:
        def work(connection: Connection) -> Job:
            inserted = connection.execute(
                pg_insert(jobs)
                .values(
                    id=job.id,
                    project_id=job.project_id,
                    name=job.name,
                    status=job.status.value,
                    workflow_id=job.workflow_id,
                    idempotency_key=job.idempotency_key,
                    created_at=job.created_at,
                    updated_at=job.updated_at,
                )
                .on_conflict_do_nothing(
                    index_elements=["project_id", "idempotency_key"], index_where=jobs.c.idempotency_key != ""
                )
                .returning(jobs.c.id)
            ).first()
            if inserted is None:
                row = connection.execute(
                    select(jobs).where(
                        jobs.c.project_id == job.project_id, jobs.c.idempotency_key == job.idempotency_key
                    )
                ).one()
                return _with_steps(connection, [row])[0]
            connection.execute(
                job_steps.insert(),
                [
                    {
                        "job_id": job.id,
                        "step_id": state.spec.id,
                        "position": position,
                        "agent_id": state.spec.agent_id,
                        "input": state.spec.input,
                        "depends_on": list(state.spec.depends_on),
                        "max_attempts": state.spec.max_attempts,
                        "backoff_seconds": state.spec.backoff_seconds,
                        "timeout_seconds": state.spec.timeout_seconds,
                        "status": state.status.value,
                    }
                    for position, state in enumerate(job.steps)
                ],
            )
            return job

        return await self._db.run(work)

    async def get(self, project_id: str, job_id: str) -> Job | None:
        def work(connection: Connection) -> Job | None:
            row = connection.execute(select(jobs).where(jobs.c.project_id == project_id, jobs.c.id == job_id)).first()
            return _with_steps(connection, [row])[0] if row else None

        return await self._db.run(work)

    async def list_page(
        self, project_id: str, status: JobStatus | None, before: tuple[datetime, str] | None, limit: int
    ) -> list[Job]:
        query = select(jobs).where(jobs.c.project_id == project_id)
        if status is not None:
            query = query.where(jobs.c.status == status.value)
        if before is not None:  # newest first: the next page holds the older keys
            query = query.where(tuple_(jobs.c.created_at, jobs.c.id) < tuple_(*before))
        query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
        return await self._db.run(lambda s: _with_steps(s, list(s.execute(query))))

    async def record(self, progress: JobProgress) -> bool:
        def work(connection: Connection) -> bool:
            scoped = (jobs.c.project_id == progress.project_id) & (jobs.c.id == progress.job_id)
            if connection.execute(select(jobs.c.id).where(scoped)).first() is None:
                return False
            if progress.status is not None:
                values: dict[str, Any] = {"status": progress.status.value, "seq": progress.seq}
                if progress.at is not None:
                    values["updated_at"] = progress.at
                    if progress.status.is_final:
                        values["ended_at"] = progress.at
                if progress.error is not None:
                    values["error"] = progress.error
                if progress.failed_step_id is not None:
                    values["failed_step_id"] = progress.failed_step_id
                affected_rows(connection, update(jobs).where(scoped, jobs.c.seq < progress.seq).values(**values))
            for step in progress.steps:
                statement = (
                    update(job_steps)
                    .where(job_steps.c.job_id == progress.job_id, job_steps.c.step_id == step.step_id)
                    .where(job_steps.c.seq < progress.seq)
                    .values(**_step_values(step), seq=progress.seq)
                )
                affected_rows(connection, statement)
            return True

        return await self._db.run(work)

    async def list_pending(self, limit: int) -> list[Job]:
        query = select(jobs).where(jobs.c.status == JobStatus.PENDING.value).order_by(jobs.c.created_at).limit(limit)
        return await self._db.run(lambda s: _with_steps(s, list(s.execute(query))))

    async def remove_project(self, project_id: str) -> list[Job]:
        def work(connection: Connection) -> list[Job]:
            rows = list(connection.execute(select(jobs).where(jobs.c.project_id == project_id)))
            removed = _with_steps(connection, rows)
            connection.execute(delete(jobs).where(jobs.c.project_id == project_id))
            return removed

        return await self._db.run(work)
