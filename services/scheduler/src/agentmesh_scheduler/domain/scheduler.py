"""The scheduler's use cases: create, read, list, update, trigger and delete schedules.

A schedule's target is a message to an agent (agent_id, payload) or a job
template (job), checked at create and update as POST /jobs checks a job.

Every use case checks project scope first (reads need membership, writes need
project admin), so isolation does not rest on the gateway alone. A schedule's
row and its Temporal Schedule are kept consistent: the row is written first
and undone if Temporal refuses or fails; an undo that fails too leaves a
revision mismatch the start-up reconcile (reconcile.py) repairs, the row
being the truth.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime

from agentmesh_core.errors import AgentmeshError, FailedPrecondition, InvalidInput, NotFound, Unavailable
from agentmesh_core.identity import Identity, project_in_scope
from agentmesh_core.ids import new_id, parse_id
from agentmesh_core.pagination import decode_time_key, next_time_key, page_size
from agentmesh_scheduler.domain import job_plan, policy, validation
from agentmesh_scheduler.domain.jobs import JobTemplate
from agentmesh_scheduler.domain.models import (
    OneOffTrigger,
    Schedule,
    ScheduleDraft,
    SchedulePatch,
    ScheduleRun,
    temporal_schedule_id,
)
from agentmesh_scheduler.domain.ports import AgentDirectory, Clock, ScheduleEngine, ScheduleRepository
from agentmesh_scheduler.domain.timing import effective_next_run, next_fire_time

log = logging.getLogger(__name__)

# How many past runs a schedule's read shows.
RECENT_RUNS = 10
# Pauses between reads of a Temporal Schedule that does not show the latest write yet (2.5 s in all).
CURRENT_READ_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.75, 1.0)


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class Scheduler:
    """Schedule management on behalf of an identified caller."""

    def __init__(
        self,
        repository: ScheduleRepository,
        engine: ScheduleEngine,
        agents: AgentDirectory,
        clock: Clock = utc_now,
    ) -> None:
        self._repository = repository
        self._engine = engine
        self._agents = agents
        self._clock = clock

    async def create(self, identity: Identity, project_id: str, draft: ScheduleDraft | None) -> Schedule:
        """Validate, check the agent, store the row, then create the Temporal Schedule.

        Answered as `get` answers, with Temporal's next run times (`_created`).
        """
        project_id = project_in_scope(identity, project_id, admin=True)
        if draft is None:
            raise InvalidInput("schedule is required")
        now = self._clock()
        if draft.job is not None and (draft.agent_id or draft.payload is not None):
            raise InvalidInput("a schedule's target is either agent_id (with payload) or job, not both")
        if draft.job is None and not draft.agent_id:
            raise InvalidInput("a schedule needs a target: agent_id (with payload) or job")
        job = job_plan.template(draft.job) if draft.job is not None else None
        agent_id = parse_id(draft.agent_id, "agent_id") if job is None else None
        zone = validation.time_zone(draft.time_zone)
        trigger = validation.trigger(draft.trigger, zone, now)
        payload = validation.payload(draft.payload) if job is None else None
        overlap = policy.overlap(draft.overlap)
        catchup = policy.catchup_window(draft.catchup_window_seconds)
        if job is not None:
            await job_plan.require_agents(self._agents, project_id, job.steps)
        elif agent_id is not None:
            await self._agents.require_agent(project_id, agent_id)

        schedule_id = new_id()
        schedule = Schedule(
            id=schedule_id,
            project_id=project_id,
            agent_id=agent_id,
            trigger=trigger,
            time_zone=zone,
            payload=payload,
            enabled=draft.enabled,
            temporal_schedule_id=temporal_schedule_id(project_id, schedule_id),
            created_at=now,
            overlap=overlap,
            catchup_window_seconds=catchup,
            job=job,
        )
        schedule = dataclasses.replace(schedule, next_run_at=next_fire_time(schedule, now))
        await self._repository.add(schedule)
        try:
            await self._engine.create(schedule)
        except BaseException:
            await self._roll_back(schedule)
            raise
        log.info("created schedule %s (%s)", schedule.id, f"job {job.name!r}" if job else f"agent {agent_id}")
        return await self._created(schedule)

    async def get(self, identity: Identity, project_id: str, schedule_id: str) -> Schedule:
        """One schedule, with Temporal's next run times (when Temporal answers) and recent runs."""
        schedule = await self._load(identity, project_id, schedule_id, admin=False)
        return await self._with_runs(schedule)

    async def update(
        self, identity: Identity, project_id: str, schedule_id: str, patch: SchedulePatch | None
    ) -> Schedule:
        """Change the given fields in the row, then in Temporal; undo the row if Temporal fails.

        enabled maps to pausing or unpausing the Temporal Schedule (with a note), written
        with the rest of the schedule in one update: Temporal applies a pause sent right
        after an update first, and the update's own state would then undo it.
        """
        current = await self._load(identity, project_id, schedule_id, admin=True)
        if patch is not None and patch.problems:
            raise InvalidInput("; ".join(patch.problems))
        if patch is None or patch.is_empty():
            return await self._with_runs(current)
        job = await self._patched_job(current, patch)
        updated = self._patched(current, patch, job)
        if not await self._repository.update(updated, expected_revision=current.revision):
            raise FailedPrecondition("the schedule changed while it was being updated; try again")
        rearm = patch.trigger is not None and isinstance(updated.trigger, OneOffTrigger)
        try:
            await self._engine.update(updated, rearm=rearm)
        except BaseException:
            await self._restore(current, updated)
            raise
        log.info("updated schedule %s (revision %d)", updated.id, updated.revision)
        return await self._with_runs(updated, just_written=True)

    async def trigger(self, identity: Identity, project_id: str, schedule_id: str) -> Schedule:
        """Run the schedule now, once (its overlap policy applies); recreates a lost Temporal Schedule."""
        schedule = await self._load(identity, project_id, schedule_id, admin=True)
        try:
            await self._engine.trigger(schedule.temporal_schedule_id)
        except NotFound:
            log.warning("temporal schedule %s was missing; recreating it", schedule.temporal_schedule_id)
            await self._engine.create(schedule)
            await self._engine.trigger(schedule.temporal_schedule_id)
        log.info("triggered schedule %s", schedule.id)
        return await self._with_runs(schedule)

    async def list_page(
        self, identity: Identity, project_id: str, requested_size: int, cursor: str
    ) -> tuple[list[Schedule], str]:
        """A page of the project's schedules by creation time, and the next cursor."""
        project_id = project_in_scope(identity, project_id, admin=False)
        limit = page_size(requested_size)
        rows = await self._repository.list_page(project_id, decode_time_key(cursor), limit)
        now = self._clock()
        items = [dataclasses.replace(s, next_run_at=effective_next_run(s, now)) for s in rows]
        return items, next_time_key(items, limit, lambda schedule: (schedule.created_at, schedule.id))

    async def delete(self, identity: Identity, project_id: str, schedule_id: str) -> None:
        """Delete the Temporal Schedule (already gone is fine), then the row."""
        schedule = await self._load(identity, project_id, schedule_id, admin=True)
        await self._remove(schedule)
        log.info("deleted schedule %s", schedule.id)

    async def delete_project(self, identity: Identity, project_id: str) -> int:
        """Remove every schedule of a project (the project is being deleted); safe to repeat."""
        project_id = project_in_scope(identity, project_id, admin=True)
        removed = 0
        for schedule in await self._repository.list_project(project_id):
            removed += await self._remove(schedule)
        log.info("removed %d schedules of project %s", removed, project_id)
        return removed

    async def _load(self, identity: Identity, project_id: str, schedule_id: str, *, admin: bool) -> Schedule:
        project_id = project_in_scope(identity, project_id, admin=admin)
        schedule = await self._repository.get(project_id, parse_id(schedule_id, "schedule_id"))
        if schedule is None:
            raise NotFound("schedule not found")
        return schedule

    async def _remove(self, schedule: Schedule) -> bool:
        if not await self._engine.delete(schedule.temporal_schedule_id):
            log.info("temporal schedule %s was already gone", schedule.temporal_schedule_id)
        return await self._repository.remove(schedule.project_id, schedule.id)

    async def _patched_job(self, current: Schedule, patch: SchedulePatch) -> JobTemplate | None:
        """The patch's job template, validated like a job's steps; a target never changes kind."""
        if current.job is None:
            if patch.job is not None:
                raise InvalidInput("job applies to job schedules only: this schedule sends a message to an agent")
            return None
        if patch.payload is not None:
            raise InvalidInput("payload applies to message schedules only: this schedule starts a job")
        if patch.job is None:
            return current.job
        job = job_plan.template(patch.job)
        await job_plan.require_agents(self._agents, current.project_id, job.steps)
        return job

    def _patched(self, current: Schedule, patch: SchedulePatch, job: JobTemplate | None) -> Schedule:
        """The schedule with the patch applied and validated, at the next revision."""
        now = self._clock()
        zone = validation.time_zone(patch.time_zone) if patch.time_zone is not None else current.time_zone
        if patch.trigger is not None:
            trigger = validation.trigger(patch.trigger, zone, now)
        elif patch.time_zone is not None:
            # A cron must still fire in its new zone; other triggers ignore the zone.
            trigger = (
                current.trigger
                if isinstance(current.trigger, OneOffTrigger)
                else validation.trigger(current.trigger, zone, now)
            )
        else:
            trigger = current.trigger
        updated = dataclasses.replace(
            current,
            trigger=trigger,
            time_zone=zone,
            payload=validation.payload(patch.payload) if patch.payload is not None else current.payload,
            enabled=current.enabled if patch.enabled is None else patch.enabled,
            overlap=policy.overlap(patch.overlap) if patch.overlap is not None else current.overlap,
            catchup_window_seconds=(
                policy.catchup_window(patch.catchup_window_seconds)
                if patch.catchup_window_seconds is not None
                else current.catchup_window_seconds
            ),
            revision=current.revision + 1,
            job=job,
        )
        if patch.trigger is not None and isinstance(trigger, OneOffTrigger):
            # A new one-off time fires again, whatever ran before.
            return dataclasses.replace(updated, next_run_at=trigger.run_at if updated.enabled else None)
        return dataclasses.replace(updated, next_run_at=next_fire_time(updated, now))

    async def _restore(self, previous: Schedule, failed: Schedule) -> None:
        # Put the row back at a fresh revision, then Temporal. Should either step
        # fail too, the revisions differ and the start-up reconcile repairs it.
        restored = dataclasses.replace(previous, revision=failed.revision + 1)
        try:
            if not await self._repository.update(restored, expected_revision=failed.revision):
                log.warning("schedule %s changed again before its failed update was undone", previous.id)
                return
            await self._engine.update(restored, rearm=False)
        except AgentmeshError:
            log.warning("could not undo the failed update of schedule %s; reconcile will repair it", previous.id)

    async def _created(self, schedule: Schedule) -> Schedule:
        """A new schedule with Temporal's next run times (it has no runs yet).

        It is created whatever the read-back does: should that fail, the answer keeps the
        next run computed here rather than fail a create that took effect.
        """
        try:
            next_runs = await self._live_next_runs(schedule, just_written=True)
        except AgentmeshError as error:
            log.warning("schedule %s created; its next runs not read back: %s", schedule.id, error.message)
            return schedule
        return _answered(schedule, next_runs, recent_runs=())

    async def _with_runs(self, schedule: Schedule, *, just_written: bool = False) -> Schedule:
        next_runs = await self._live_next_runs(schedule, just_written=just_written)
        recent = await self._repository.recent_runs(schedule.project_id, schedule.id, RECENT_RUNS)
        return _answered(schedule, next_runs, recent_runs=tuple(recent))

    async def _live_next_runs(self, schedule: Schedule, *, just_written: bool) -> tuple[datetime, ...]:
        """Temporal's next run times when it shows this revision, enabled; else computed here.

        Temporal applies an update or an unpause a moment after acknowledging it, so a
        read right after a write is retried briefly until it reflects the write.
        """
        if not schedule.enabled:
            return ()
        for delay in (*CURRENT_READ_DELAYS, None) if just_written else (None,):
            try:
                described = await self._engine.describe(schedule.temporal_schedule_id)
            except NotFound:
                return ()
            except Unavailable:
                log.warning("temporal unavailable; next run of %s computed locally", schedule.id)
                break
            if not described.paused and described.revision in (None, schedule.revision):
                return described.next_runs
            if delay is None:
                log.warning("temporal does not show schedule %s revision %d, enabled", schedule.id, schedule.revision)
                break
            await asyncio.sleep(delay)
        local = effective_next_run(schedule, self._clock())
        return (local,) if local else ()

    async def _roll_back(self, schedule: Schedule) -> None:
        # The create may have reached Temporal even though it failed here (a
        # timeout, a cancelled call): remove both sides, tolerating either gone.
        try:
            await self._engine.delete(schedule.temporal_schedule_id)
        except AgentmeshError:
            log.warning("could not remove temporal schedule %s after a failed create", schedule.temporal_schedule_id)
        try:
            await self._repository.remove(schedule.project_id, schedule.id)
        except AgentmeshError:
            log.exception("could not roll back schedule %s after a failed create", schedule.id)


def _answered(schedule: Schedule, next_runs: tuple[datetime, ...], recent_runs: tuple[ScheduleRun, ...]) -> Schedule:
    """The schedule as an answer shows it: its next runs (the first is `next_run_at`) and recent runs."""
    return dataclasses.replace(
        schedule, next_runs=next_runs, next_run_at=next_runs[0] if next_runs else None, recent_runs=recent_runs
    )
