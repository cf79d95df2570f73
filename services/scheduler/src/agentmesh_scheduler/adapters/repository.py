"""ScheduleRepository on PostgreSQL (SQLAlchemy Core, work off the event loop)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentmesh_db.database import Database, affected_rows
from agentmesh_scheduler.adapters.tables import schedule_runs, schedules
from agentmesh_scheduler.domain.jobs import JobTemplate, StepSpec
from agentmesh_scheduler.domain.models import (
    CronTrigger,
    IntervalTrigger,
    OneOffTrigger,
    OverlapPolicy,
    Schedule,
    ScheduleRun,
    Trigger,
)

# Runs kept per schedule (reads show fewer).
RUNS_KEPT = 50


def _trigger_columns(trigger: Trigger) -> dict[str, Any]:
    columns: dict[str, Any] = {"cron": None, "interval_seconds": None, "run_at": None}
    match trigger:
        case CronTrigger(expression):
            columns["cron"] = expression
        case IntervalTrigger(seconds):
            columns["interval_seconds"] = seconds
        case OneOffTrigger(run_at):
            columns["run_at"] = run_at
    return columns


def _trigger_from_row(row: Any) -> Trigger:
    if row.cron is not None:
        return CronTrigger(row.cron)
    if row.interval_seconds is not None:
        return IntervalTrigger(row.interval_seconds)
    return OneOffTrigger(row.run_at)


def _job_document(job: JobTemplate | None) -> dict[str, Any] | None:
    if job is None:
        return None
    steps = [
        {
            "id": step.id,
            "agent_id": step.agent_id,
            "input": step.input,
            "depends_on": list(step.depends_on),
            "max_attempts": step.max_attempts,
            "backoff_seconds": step.backoff_seconds,
            "timeout_seconds": step.timeout_seconds,
        }
        for step in job.steps
    ]
    return {"name": job.name, "steps": steps}


def _job_from_document(document: dict[str, Any] | None) -> JobTemplate | None:
    if document is None:
        return None
    steps = tuple(
        StepSpec(
            id=step["id"],
            agent_id=step["agent_id"],
            input=step["input"],
            depends_on=tuple(step["depends_on"]),
            max_attempts=step["max_attempts"],
            backoff_seconds=step["backoff_seconds"],
            timeout_seconds=step["timeout_seconds"],
        )
        for step in document["steps"]
    )
    return JobTemplate(document["name"], steps)


def _from_row(row: Any) -> Schedule:
    return Schedule(
        id=str(row.id),
        project_id=str(row.project_id),
        agent_id=str(row.agent_id) if row.agent_id is not None else None,
        trigger=_trigger_from_row(row),
        time_zone=row.time_zone,
        payload=row.payload,
        enabled=row.enabled,
        temporal_schedule_id=row.temporal_schedule_id,
        created_at=row.created_at,
        last_run_at=row.last_run_at,
        last_run_outcome=row.last_run_outcome,
        next_run_at=row.next_run_at,
        overlap=OverlapPolicy(row.overlap_policy),
        catchup_window_seconds=row.catchup_window_seconds,
        revision=row.revision,
        job=_job_from_document(row.job),
    )


def _settings(schedule: Schedule) -> dict[str, Any]:
    """The columns an update writes."""
    return {
        **_trigger_columns(schedule.trigger),
        "time_zone": schedule.time_zone,
        "payload": schedule.payload,
        "enabled": schedule.enabled,
        "next_run_at": schedule.next_run_at,
        "overlap_policy": schedule.overlap.value,
        "catchup_window_seconds": schedule.catchup_window_seconds,
        "revision": schedule.revision,
        "job": _job_document(schedule.job),
    }


def _scoped(project_id: str, schedule_id: str):
    return (schedules.c.project_id == project_id) & (schedules.c.id == schedule_id)


class SqlScheduleRepository:
    """Schedules in scheduler.schedules; every query is scoped by project."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, schedule: Schedule) -> None:
        values = {
            "id": schedule.id,
            "project_id": schedule.project_id,
            "agent_id": schedule.agent_id,
            **_settings(schedule),
            "temporal_schedule_id": schedule.temporal_schedule_id,
            "last_run_at": schedule.last_run_at,
            "last_run_outcome": schedule.last_run_outcome,
            "created_at": schedule.created_at,
        }
        await self._db.run(lambda s: s.execute(insert(schedules).values(**values)), transaction=False)

    async def get(self, project_id: str, schedule_id: str) -> Schedule | None:
        def work(connection: Connection) -> Schedule | None:
            row = connection.execute(select(schedules).where(_scoped(project_id, schedule_id))).first()
            return _from_row(row) if row else None

        return await self._db.run(work)

    async def list_page(self, project_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Schedule]:
        query = (
            select(schedules)
            .where(schedules.c.project_id == project_id)
            .order_by(schedules.c.created_at, schedules.c.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(schedules.c.created_at, schedules.c.id) > tuple_(*after))
        return await self._db.run(lambda s: [_from_row(row) for row in s.execute(query)], transaction=False)

    async def list_project(self, project_id: str) -> list[Schedule]:
        query = select(schedules).where(schedules.c.project_id == project_id).order_by(schedules.c.created_at)
        return await self._db.run(lambda s: [_from_row(row) for row in s.execute(query)], transaction=False)

    async def list_all(self, after_id: str, limit: int) -> list[Schedule]:
        query = select(schedules).order_by(schedules.c.id).limit(limit)
        if after_id:
            query = query.where(schedules.c.id > after_id)
        return await self._db.run(lambda s: [_from_row(row) for row in s.execute(query)], transaction=False)

    async def update(self, schedule: Schedule, expected_revision: int) -> bool:
        statement = (
            update(schedules)
            .where(_scoped(schedule.project_id, schedule.id))
            .where(schedules.c.revision == expected_revision)
            .values(**_settings(schedule))
        )
        return await self._db.run(lambda s: affected_rows(s, statement) > 0, transaction=False)

    async def recent_runs(self, project_id: str, schedule_id: str, limit: int) -> list[ScheduleRun]:
        query = (
            select(schedule_runs.c.ran_at, schedule_runs.c.outcome)
            .join(schedules, schedules.c.id == schedule_runs.c.schedule_id)
            .where(_scoped(project_id, schedule_id))
            .order_by(schedule_runs.c.ran_at.desc(), schedule_runs.c.run_key.desc())
            .limit(limit)
        )
        return await self._db.run(
            lambda s: [ScheduleRun(row.ran_at, row.outcome) for row in s.execute(query)], transaction=False
        )

    async def remove(self, project_id: str, schedule_id: str) -> bool:
        statement = delete(schedules).where(_scoped(project_id, schedule_id))
        return await self._db.run(lambda s: affected_rows(s, statement) > 0, transaction=False)

    async def record_run(
        self,
        project_id: str,
        schedule_id: str,
        ran_at: datetime,
        outcome: str,
        next_run_at: datetime | None,
        run_key: str | None = None,
    ) -> bool:
        statement = (
            update(schedules)
            .where(_scoped(project_id, schedule_id))
            # A late retry of an older run must not overwrite a newer outcome.
            .where(schedules.c.last_run_at.is_(None) | (schedules.c.last_run_at <= ran_at))
            .values(last_run_at=ran_at, last_run_outcome=outcome, next_run_at=next_run_at)
        )

        def work(connection: Connection) -> bool:
            latest = affected_rows(connection, statement) > 0
            exists = (
                latest or connection.execute(select(schedules.c.id).where(_scoped(project_id, schedule_id))).first()
            )
            if run_key and exists:
                connection.execute(
                    pg_insert(schedule_runs)
                    .values(schedule_id=schedule_id, run_key=run_key, ran_at=ran_at, outcome=outcome)
                    .on_conflict_do_nothing()
                )
                _prune_runs(connection, schedule_id)
            return latest

        return await self._db.run(work)


def _prune_runs(connection: Connection, schedule_id: str) -> None:
    kept = (
        select(schedule_runs.c.run_key)
        .where(schedule_runs.c.schedule_id == schedule_id)
        .order_by(schedule_runs.c.ran_at.desc())
        .limit(RUNS_KEPT)
    )
    connection.execute(
        delete(schedule_runs)
        .where(schedule_runs.c.schedule_id == schedule_id)
        .where(schedule_runs.c.run_key.not_in(kept.scalar_subquery()))
    )
