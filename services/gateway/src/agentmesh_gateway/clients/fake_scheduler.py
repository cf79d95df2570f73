"""In-memory SchedulerApi for gateway tests: schedules and jobs, checking identity as the service does."""

from __future__ import annotations

import json
import re

from agentmesh_core.errors import (
    InvalidInput,
    NotFound,
)
from agentmesh_core.ids import new_id
from agentmesh_gateway.clients.fake_support import check, now, page
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.jobs import JobIn, JobOut, RetryOut, StepOut
from agentmesh_gateway.schemas.schedules import (
    ScheduleIn,
    ScheduleJobIn,
    ScheduleJobOut,
    ScheduleOut,
    SchedulePatch,
    ScheduleRunOut,
    ScheduleStepOut,
)

_REFERENCE = re.compile(r"\{\{\s*steps\.([A-Za-z0-9_-]+)\.output\s*\}\}")


def _check_plan(job: JobIn | ScheduleJobIn) -> None:
    """The scheduler's plan rules that need no agent lookup, with its messages (naming the step)."""
    ids = [step.id for step in job.steps]
    deps = {step.id: set(step.depends_on) for step in job.steps}
    for step in job.steps:
        if ids.count(step.id) > 1:
            raise InvalidInput(f"step {step.id!r}: duplicate step id")
        for dependency in step.depends_on:
            if dependency not in deps:
                raise InvalidInput(f"step {step.id!r}: depends on unknown step {dependency!r}")
        for referenced in _REFERENCE.findall(json.dumps(step.input)):
            if referenced not in deps:
                raise InvalidInput(f"step {step.id!r}: input references unknown step {referenced!r}")
    remaining = {key: set(value) for key, value in deps.items()}
    while ready := [key for key, value in remaining.items() if not value]:
        for key in ready:
            del remaining[key]
        for value in remaining.values():
            value.difference_update(ready)
    if remaining:
        raise InvalidInput(f"step {sorted(remaining)[0]!r}: dependency cycle")


def _template(job: ScheduleJobIn) -> ScheduleJobOut:
    """A schedule's job as the scheduler stores it (plan rules checked, idempotency key never given)."""
    _check_plan(job)
    steps = [
        ScheduleStepOut(id=step.id, agent_id=str(step.agent_id), input=step.input, depends_on=step.depends_on,
                        retry=RetryOut(**step.retry.model_dump()), timeout_s=step.timeout_s)
        for step in job.steps
    ]  # fmt: skip
    return ScheduleJobOut(name=job.name, steps=steps)


class FakeScheduler:
    """SchedulerApi in memory; nothing fires on its own, a trigger adds a run to recent_runs.

    Jobs are stored `pending` and never run; cancel marks them `cancelled`.
    """

    def __init__(self) -> None:
        self.schedules: dict[str, ScheduleOut] = {}
        self.jobs: dict[str, JobOut] = {}
        self.deleted_projects: list[str] = []

    async def create_schedule(self, project_id: str, schedule: ScheduleIn) -> ScheduleOut:
        check(project_id, admin=True)
        schedule_id = new_id()
        made = ScheduleOut(
            **schedule.model_dump(exclude={"agent_id", "job"}),
            agent_id=str(schedule.agent_id) if schedule.agent_id is not None else None,
            job=_template(schedule.job) if schedule.job is not None else None,
            id=schedule_id,
            project_id=project_id,
            temporal_schedule_id=f"project-{project_id}-schedule-{schedule_id}",
            last_run_at=None,
            last_run_outcome=None,
            next_run_at=None,
            created_at=now(),
        )
        self.schedules[schedule_id] = made
        return made

    async def get_schedule(self, project_id: str, schedule_id: str) -> ScheduleOut:
        check(project_id)
        schedule = self.schedules.get(schedule_id)
        if schedule is None or schedule.project_id != project_id:
            raise NotFound("schedule not found")
        return schedule

    async def list_schedules(self, project_id: str, limit: int, cursor: str) -> Page[ScheduleOut]:
        check(project_id)
        return page([s for s in self.schedules.values() if s.project_id == project_id], limit, cursor)

    async def update_schedule(self, project_id: str, schedule_id: str, patch: SchedulePatch) -> ScheduleOut:
        check(project_id, admin=True)
        schedule = await self.get_schedule(project_id, schedule_id)
        changes = {name: getattr(patch, name) for name in patch.changed()}
        if patch.job is not None:
            if schedule.job is None:
                raise InvalidInput("job applies to job schedules only: this schedule sends a message to an agent")
            changes["job"] = _template(patch.job)
        if "payload" in changes and schedule.job is not None:
            raise InvalidInput("payload applies to message schedules only: this schedule starts a job")
        if {"cron", "interval_seconds", "run_at"} & set(changes):
            changes = {"cron": None, "interval_seconds": None, "run_at": None, **changes}
        updated = schedule.model_copy(update=changes)
        self.schedules[schedule_id] = updated
        return updated

    async def trigger_schedule(self, project_id: str, schedule_id: str) -> ScheduleOut:
        check(project_id, admin=True)
        schedule = await self.get_schedule(project_id, schedule_id)
        run = ScheduleRunOut(ran_at=now(), outcome=f"sent message {new_id()}")
        triggered = schedule.model_copy(
            update={"recent_runs": [run, *schedule.recent_runs], "last_run_at": run.ran_at,
                    "last_run_outcome": run.outcome}
        )  # fmt: skip
        self.schedules[schedule_id] = triggered
        return triggered

    async def delete_schedule(self, project_id: str, schedule_id: str) -> None:
        check(project_id, admin=True)
        await self.get_schedule(project_id, schedule_id)
        del self.schedules[schedule_id]

    async def delete_project_schedules(self, project_id: str) -> None:
        check(project_id, admin=True)
        self.deleted_projects.append(project_id)

    async def create_job(self, project_id: str, job: JobIn) -> JobOut:
        check(project_id, admin=True)
        _check_plan(job)
        key = (project_id, job.idempotency_key)
        for existing in self.jobs.values():
            if job.idempotency_key and (existing.project_id, existing.idempotency_key) == key:
                return existing
        job_id = new_id()
        steps = [
            StepOut(id=step.id, agent_id=str(step.agent_id), input=step.input, depends_on=step.depends_on,
                    retry=RetryOut(**step.retry.model_dump()), timeout_s=step.timeout_s, status="pending", attempts=0,
                    output=None, error=None, sent_input=None, message_id=None, started_at=None, ended_at=None)
            for step in job.steps
        ]  # fmt: skip
        workflow_id = f"project-{project_id}-job-{job_id}"
        made = JobOut(
            id=job_id, project_id=project_id, name=job.name, status="pending", steps=steps, workflow_id=workflow_id,
            temporal_ui_url=f"http://temporal-ui/namespaces/default/workflows/{workflow_id}", error=None,
            failed_step_id=None, idempotency_key=job.idempotency_key, created_at=now(), updated_at=now(),
            ended_at=None,
        )  # fmt: skip
        self.jobs[job_id] = made
        return made

    async def get_job(self, project_id: str, job_id: str) -> JobOut:
        check(project_id)
        job = self.jobs.get(job_id)
        if job is None or job.project_id != project_id:
            raise NotFound("job not found")
        return job

    async def list_jobs(self, project_id: str, status: str | None, limit: int, cursor: str) -> Page[JobOut]:
        check(project_id)
        mine = [j for j in reversed(self.jobs.values()) if j.project_id == project_id and status in (None, j.status)]
        return page(mine, limit, cursor)

    async def cancel_job(self, project_id: str, job_id: str) -> JobOut:
        check(project_id, admin=True)
        job = await self.get_job(project_id, job_id)
        if job.status in ("pending", "running"):
            job = job.model_copy(update={"status": "cancelled", "ended_at": now()})
            self.jobs[job_id] = job
        return job
