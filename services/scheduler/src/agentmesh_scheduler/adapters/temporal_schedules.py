"""ScheduleEngine on Temporal Schedules.

Each schedule is a Temporal Schedule with the readable id
`project-<p>-schedule-<s>` whose action starts ScheduledMessageWorkflow with
the same id (Temporal appends each fire time). Disabled schedules are paused.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta

from temporalio import client as temporal
from temporalio.service import RPCError, RPCStatusCode

from agentmesh_core.errors import AgentmeshError, AlreadyExists, InvalidInput, NotFound, Unavailable
from agentmesh_scheduler.domain.models import CronTrigger, IntervalTrigger, OneOffTrigger, Schedule
from agentmesh_scheduler.workflows import ScheduledMessageInput, ScheduledMessageWorkflow

log = logging.getLogger(__name__)


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


def workflow_input(schedule: Schedule) -> ScheduledMessageInput:
    """What each run of the schedule's workflow receives."""
    return ScheduledMessageInput(
        project_id=schedule.project_id,
        schedule_id=schedule.id,
        agent_id=schedule.agent_id,
        payload_json=json.dumps(schedule.payload, ensure_ascii=False),
    )


class TemporalScheduleEngine:
    """Creates, deletes and describes Temporal Schedules on one task queue.

    It may be built before Temporal answers (the gRPC server starts first and
    says NOT_SERVING); until `attach(client)`, every call raises Unavailable.
    """

    def __init__(
        self, task_queue: str, client: temporal.Client | None = None, rpc_timeout_seconds: float = 10.0
    ) -> None:
        self._client_or_none = client
        self._task_queue = task_queue
        self._timeout = timedelta(seconds=rpc_timeout_seconds)

    def attach(self, client: temporal.Client) -> None:
        """Use this connected client from now on."""
        self._client_or_none = client

    @property
    def _client(self) -> temporal.Client:
        if self._client_or_none is None:
            raise Unavailable("temporal unavailable")
        return self._client_or_none

    async def create(self, schedule: Schedule) -> None:
        """Create the Temporal Schedule (paused when the schedule is disabled)."""
        spec, state = temporal_spec(schedule)
        action = temporal.ScheduleActionStartWorkflow(
            ScheduledMessageWorkflow.run,
            workflow_input(schedule),
            id=schedule.temporal_schedule_id,
            task_queue=self._task_queue,
        )
        policy = temporal.SchedulePolicy(overlap=temporal.ScheduleOverlapPolicy.SKIP)
        try:
            await self._client.create_schedule(
                schedule.temporal_schedule_id,
                temporal.Schedule(action=action, spec=spec, policy=policy, state=state),
                rpc_timeout=self._timeout,
            )
        except temporal.ScheduleAlreadyRunningError:
            raise AlreadyExists("schedule already exists") from None
        except RPCError as error:
            raise _error(error, schedule.temporal_schedule_id) from None

    async def delete(self, temporal_schedule_id: str) -> bool:
        """Delete it; False when it was already gone."""
        try:
            await self._client.get_schedule_handle(temporal_schedule_id).delete(rpc_timeout=self._timeout)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise _error(error, temporal_schedule_id) from None
        return True

    async def next_run_time(self, temporal_schedule_id: str) -> datetime | None:
        """Temporal's next action time, None when it will not fire again."""
        handle = self._client.get_schedule_handle(temporal_schedule_id)
        try:
            description = await handle.describe(rpc_timeout=self._timeout)
        except RPCError as error:
            raise _error(error, temporal_schedule_id) from None
        if description.schedule.state.paused:
            return None
        times = description.info.next_action_times
        return times[0] if times else None
