"""ScheduleEngine on Temporal Schedules.

Each schedule is a Temporal Schedule with the readable id
`project-<p>-schedule-<s>` whose action starts ScheduledMessageWorkflow with
the same id (Temporal appends each fire time); for a job schedule its input
says so, and the run starts a job from the schedule's stored template. Disabled schedules are paused.
The schedule's memo names this worker's task queue (so the reconcile only
judges its own schedules); the action's memo carries the row revision it was
written from.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta

from temporalio import client as temporal
from temporalio.service import RPCError, RPCStatusCode

from agentmesh_core.errors import AgentmeshError, AlreadyExists, InvalidInput, NotFound, Unavailable
from agentmesh_scheduler.adapters.temporal_link import TemporalEngine
from agentmesh_scheduler.domain.models import (
    CronTrigger,
    IntervalTrigger,
    OneOffTrigger,
    OverlapPolicy,
    Schedule,
    pause_note,
)
from agentmesh_scheduler.domain.ports import EngineSchedule
from agentmesh_scheduler.workflows import ScheduledMessageInput, ScheduledMessageWorkflow

log = logging.getLogger(__name__)

REVISION_MEMO = "agentmesh_revision"
TASK_QUEUE_MEMO = "agentmesh_task_queue"

_OVERLAP = {
    OverlapPolicy.SKIP: temporal.ScheduleOverlapPolicy.SKIP,
    OverlapPolicy.BUFFER_ONE: temporal.ScheduleOverlapPolicy.BUFFER_ONE,
    OverlapPolicy.BUFFER_ALL: temporal.ScheduleOverlapPolicy.BUFFER_ALL,
    OverlapPolicy.CANCEL_OTHER: temporal.ScheduleOverlapPolicy.CANCEL_OTHER,
    OverlapPolicy.TERMINATE_OTHER: temporal.ScheduleOverlapPolicy.TERMINATE_OTHER,
    OverlapPolicy.ALLOW_ALL: temporal.ScheduleOverlapPolicy.ALLOW_ALL,
}


def _error(error: RPCError, what: str) -> AgentmeshError:
    if error.status == RPCStatusCode.INVALID_ARGUMENT:
        log.info("temporal rejected %s: %s", what, error.message)
        return InvalidInput("Temporal rejected the schedule's trigger")
    if error.status == RPCStatusCode.NOT_FOUND:
        return NotFound("schedule not found")
    log.warning("temporal call for %s failed: %s %s", what, error.status.name, error.message)
    return Unavailable("temporal unavailable")


def _one_off(run_at: datetime) -> temporal.ScheduleCalendarSpec:
    # Temporal matches whole seconds: round up so the time stays in the future.
    at = datetime.fromtimestamp(math.ceil(run_at.timestamp()), UTC)
    return temporal.ScheduleCalendarSpec(
        second=(temporal.ScheduleRange(at.second),),
        minute=(temporal.ScheduleRange(at.minute),),
        hour=(temporal.ScheduleRange(at.hour),),
        day_of_month=(temporal.ScheduleRange(at.day),),
        month=(temporal.ScheduleRange(at.month),),
        year=(temporal.ScheduleRange(at.year),),
        comment="one-off",
    )


def temporal_spec(schedule: Schedule) -> tuple[temporal.ScheduleSpec, temporal.ScheduleState]:
    """The Temporal spec and initial state for a schedule's trigger."""
    paused = not schedule.enabled
    note = "disabled" if paused else None
    match schedule.trigger:
        case CronTrigger(expression):
            spec = temporal.ScheduleSpec(cron_expressions=[expression], time_zone_name=schedule.time_zone)
        case IntervalTrigger(seconds):
            spec = temporal.ScheduleSpec(intervals=[temporal.ScheduleIntervalSpec(every=timedelta(seconds=seconds))])
        case OneOffTrigger(run_at):
            spec = temporal.ScheduleSpec(calendars=[_one_off(run_at)], time_zone_name="UTC")
            return spec, temporal.ScheduleState(note=note, paused=paused, limited_actions=True, remaining_actions=1)
        case _:
            raise TypeError(f"unknown trigger {schedule.trigger!r}")
    return spec, temporal.ScheduleState(note=note, paused=paused)


def temporal_policy(schedule: Schedule) -> temporal.SchedulePolicy:
    """Overlap and catch-up, as the schedule says."""
    return temporal.SchedulePolicy(
        overlap=_OVERLAP[schedule.overlap], catchup_window=timedelta(seconds=schedule.catchup_window_seconds)
    )


def workflow_input(schedule: Schedule) -> ScheduledMessageInput:
    """What each run of the schedule's workflow receives."""
    return ScheduledMessageInput(
        project_id=schedule.project_id,
        schedule_id=schedule.id,
        agent_id=schedule.agent_id or "",
        payload_json=json.dumps(schedule.payload, ensure_ascii=False),
        job=schedule.job is not None,
    )


def target_agents(schedule: Schedule) -> list[str]:
    """The agents a schedule's runs reach: its agent, or its job's steps' agents."""
    if schedule.job is not None:
        return [step.agent_id for step in schedule.job.steps]
    return [schedule.agent_id] if schedule.agent_id else []


def summary(schedule: Schedule) -> str:
    """What operators read on each run in the Temporal UI."""
    if schedule.job is not None:
        return f"schedule {schedule.id}: job {schedule.job.name!r}"
    return f"schedule {schedule.id}: message to agent {schedule.agent_id}"


class TemporalScheduleEngine(TemporalEngine):
    """Creates, updates, pauses, triggers, deletes and describes Temporal Schedules on one task queue.

    It may be built before Temporal answers (the gRPC server starts first and
    says NOT_SERVING); until its link has a client, and while Temporal is known to be
    unreachable (adapters/temporal_link.py), every call raises Unavailable at once.
    """

    def _failed(self, error: RPCError, what: str) -> AgentmeshError:
        self._link.failed(error)
        return _error(error, what)

    def _action(self, schedule: Schedule) -> temporal.ScheduleActionStartWorkflow:
        return temporal.ScheduleActionStartWorkflow(
            ScheduledMessageWorkflow.run,
            workflow_input(schedule),
            id=schedule.temporal_schedule_id,
            task_queue=self._task_queue,
            memo={
                REVISION_MEMO: schedule.revision,
                "project_id": schedule.project_id,
                "schedule_id": schedule.id,
                "agent_id": schedule.agent_id or "",
            },
            typed_search_attributes=self._search.of(schedule.project_id, target_agents(schedule)),
            static_summary=summary(schedule),
        )

    async def create(self, schedule: Schedule) -> None:
        """Create the Temporal Schedule (paused when the schedule is disabled)."""
        spec, state = temporal_spec(schedule)
        body = temporal.Schedule(
            action=self._action(schedule), spec=spec, policy=temporal_policy(schedule), state=state
        )
        try:
            await self._client.create_schedule(
                schedule.temporal_schedule_id,
                body,
                memo={TASK_QUEUE_MEMO: self._task_queue, "project_id": schedule.project_id},
                search_attributes=self._search.of(schedule.project_id, target_agents(schedule)),
                rpc_timeout=self._timeout,
            )
        except temporal.ScheduleAlreadyRunningError:
            raise AlreadyExists("schedule already exists") from None
        except RPCError as error:
            raise self._failed(error, schedule.temporal_schedule_id) from None

    async def update(self, schedule: Schedule, *, rearm: bool) -> None:
        """Rewrite spec, action, policy and the paused state (with a note when it changes).

        One update carries the paused state too: Temporal's scheduler applies a pause sent
        just after an update before it, and the update's state then undoes the pause.
        """
        spec, fresh = temporal_spec(schedule)

        def updater(current: temporal.ScheduleUpdateInput) -> temporal.ScheduleUpdate:
            state = current.description.schedule.state
            if state.paused == schedule.enabled:
                state.paused, state.note = not schedule.enabled, pause_note(schedule.enabled)
            if not isinstance(schedule.trigger, OneOffTrigger):
                state.limited_actions, state.remaining_actions = False, 0
            elif rearm or not state.limited_actions:
                state.limited_actions, state.remaining_actions = True, fresh.remaining_actions
            body = temporal.Schedule(
                action=self._action(schedule), spec=spec, policy=temporal_policy(schedule), state=state
            )
            return temporal.ScheduleUpdate(schedule=body)

        handle = self._client.get_schedule_handle(schedule.temporal_schedule_id)
        try:
            await handle.update(updater, rpc_timeout=self._timeout)
        except RPCError as error:
            raise self._failed(error, schedule.temporal_schedule_id) from None

    async def set_paused(self, temporal_schedule_id: str, paused: bool, note: str) -> None:
        """Pause or unpause with a note."""
        handle = self._client.get_schedule_handle(temporal_schedule_id)
        try:
            if paused:
                await handle.pause(note=note, rpc_timeout=self._timeout)
            else:
                await handle.unpause(note=note, rpc_timeout=self._timeout)
        except RPCError as error:
            raise self._failed(error, temporal_schedule_id) from None

    async def trigger(self, temporal_schedule_id: str) -> None:
        """Start the action now (the schedule's overlap policy applies)."""
        try:
            await self._client.get_schedule_handle(temporal_schedule_id).trigger(rpc_timeout=self._timeout)
        except RPCError as error:
            raise self._failed(error, temporal_schedule_id) from None

    async def delete(self, temporal_schedule_id: str) -> bool:
        """Delete it; False when it was already gone."""
        try:
            await self._client.get_schedule_handle(temporal_schedule_id).delete(rpc_timeout=self._timeout)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise self._failed(error, temporal_schedule_id) from None
        return True

    async def describe(self, temporal_schedule_id: str) -> EngineSchedule:
        """Paused state, next action times and the revision the action was written from."""
        handle = self._client.get_schedule_handle(temporal_schedule_id)
        try:
            description = await handle.describe(rpc_timeout=self._timeout)
        except RPCError as error:
            raise self._failed(error, temporal_schedule_id) from None
        state = description.schedule.state
        exhausted = state.limited_actions and state.remaining_actions <= 0
        next_runs = () if state.paused or exhausted else tuple(description.info.next_action_times)
        return EngineSchedule(state.paused, next_runs, self._revision(description.schedule.action))

    async def next_run_time(self, temporal_schedule_id: str) -> datetime | None:
        """Temporal's next action time, None when it will not fire again."""
        described = await self.describe(temporal_schedule_id)
        return described.next_runs[0] if described.next_runs else None

    async def schedule_ids(self) -> list[str]:
        """Ids of the Temporal Schedules whose memo names this task queue."""
        ids = []
        try:
            async for listed in await self._client.list_schedules(rpc_timeout=self._timeout):
                memo = await listed.memo()
                if memo.get(TASK_QUEUE_MEMO) == self._task_queue:
                    ids.append(listed.id)
        except RPCError as error:
            raise self._failed(error, "schedule list") from None
        return ids

    def _revision(self, action: temporal.ScheduleAction) -> int | None:
        memo = getattr(action, "memo", None) or {}
        raw = memo.get(REVISION_MEMO)
        if raw is None:
            return None
        try:
            value = self._client.data_converter.payload_converter.from_payload(raw)
        except Exception:  # noqa: BLE001 - an unreadable memo just means "unknown revision"
            return None
        return value if isinstance(value, int) else None
