"""The scheduler's use cases: create, read, list and delete schedules.

Every use case checks project scope first (reads need membership, writes need
project admin), so isolation does not rest on the gateway alone. A schedule's
row and its Temporal Schedule are kept consistent: the row is written first,
and removed again if the Temporal Schedule cannot be created.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

from agentmesh_core.errors import AgentmeshError, InvalidInput, NotFound, Unavailable
from agentmesh_core.identity import Identity, require_project_access
from agentmesh_core.ids import new_id, parse_id
from agentmesh_core.pagination import decode_cursor, next_cursor, page_size
from agentmesh_scheduler.domain import validation
from agentmesh_scheduler.domain.models import Schedule, ScheduleDraft, temporal_schedule_id
from agentmesh_scheduler.domain.ports import AgentDirectory, Clock, ScheduleEngine, ScheduleRepository
from agentmesh_scheduler.domain.timing import effective_next_run, next_fire_time

log = logging.getLogger(__name__)


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
        """Validate, check the agent, store the row, then create the Temporal Schedule."""
        project_id = self._authorize(identity, project_id, admin=True)
        if draft is None:
            raise InvalidInput("schedule is required")
        now = self._clock()
        agent_id = parse_id(draft.agent_id, "agent_id")
        zone = validation.time_zone(draft.time_zone)
        trigger = validation.trigger(draft.trigger, zone, now)
        payload = validation.payload(draft.payload)
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
        )
        schedule = dataclasses.replace(schedule, next_run_at=next_fire_time(schedule, now))
        await self._repository.add(schedule)
        try:
            await self._engine.create(schedule)
        except BaseException:
            await self._roll_back(schedule)
            raise
        log.info("created schedule %s for agent %s", schedule.id, agent_id)
        return schedule

    async def get(self, identity: Identity, project_id: str, schedule_id: str) -> Schedule:
        """One schedule, with Temporal's next run time when Temporal answers."""
        schedule = await self._load(identity, project_id, schedule_id, admin=False)
        return dataclasses.replace(schedule, next_run_at=await self._live_next_run(schedule))

    async def list_page(
        self, identity: Identity, project_id: str, requested_size: int, cursor: str
    ) -> tuple[list[Schedule], str]:
        """A page of the project's schedules by creation time, and the next cursor."""
        project_id = self._authorize(identity, project_id, admin=False)
        limit = page_size(requested_size)
        offset = decode_cursor(cursor)
        rows = await self._repository.list_page(project_id, offset, limit)
        now = self._clock()
        items = [dataclasses.replace(s, next_run_at=effective_next_run(s, now)) for s in rows]
        return items, next_cursor(offset, len(items), limit)

    async def delete(self, identity: Identity, project_id: str, schedule_id: str) -> None:
        """Delete the Temporal Schedule (already gone is fine), then the row."""
        schedule = await self._load(identity, project_id, schedule_id, admin=True)
        await self._remove(schedule)
        log.info("deleted schedule %s", schedule.id)

    async def delete_project(self, identity: Identity, project_id: str) -> int:
        """Remove every schedule of a project (the project is being deleted); safe to repeat."""
        project_id = self._authorize(identity, project_id, admin=True)
        removed = 0
        for schedule in await self._repository.list_project(project_id):
            removed += await self._remove(schedule)
        log.info("removed %d schedules of project %s", removed, project_id)
        return removed

    def _authorize(self, identity: Identity, project_id: str, *, admin: bool) -> str:
        project_id = parse_id(project_id, "project_id")
        require_project_access(identity, project_id, admin=admin)
        return project_id

    async def _load(self, identity: Identity, project_id: str, schedule_id: str, *, admin: bool) -> Schedule:
        project_id = self._authorize(identity, project_id, admin=admin)
        schedule = await self._repository.get(project_id, parse_id(schedule_id, "schedule_id"))
        if schedule is None:
            raise NotFound("schedule not found")
        return schedule

    async def _remove(self, schedule: Schedule) -> bool:
        if not await self._engine.delete(schedule.temporal_schedule_id):
            log.info("temporal schedule %s was already gone", schedule.temporal_schedule_id)
        return await self._repository.remove(schedule.project_id, schedule.id)

    async def _live_next_run(self, schedule: Schedule) -> datetime | None:
        if not schedule.enabled:
            return None
        try:
            return await self._engine.next_run_time(schedule.temporal_schedule_id)
        except NotFound:
            return None
        except Unavailable:
            log.warning("temporal unavailable; next run of %s computed locally", schedule.id)
            return effective_next_run(schedule, self._clock())

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
