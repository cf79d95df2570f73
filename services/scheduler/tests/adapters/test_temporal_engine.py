"""TemporalScheduleEngine against the real dev server, and the fake against the same cases."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import Client

from agentmesh_core.errors import AlreadyExists, NotFound, Unavailable
from agentmesh_core.ids import new_id
from agentmesh_scheduler.adapters.fakes import FakeScheduleEngine
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.models import (
    CronTrigger,
    IntervalTrigger,
    OneOffTrigger,
    Schedule,
    Trigger,
    temporal_schedule_id,
)
from agentmesh_scheduler.domain.ports import ScheduleEngine
from agentmesh_scheduler.workflows import WORKFLOW_NAME


def _schedule(trigger: Trigger, **changes: object) -> Schedule:
    project_id, schedule_id = new_id(), new_id()
    schedule = Schedule(
        id=schedule_id,
        project_id=project_id,
        agent_id=new_id(),
        trigger=trigger,
        time_zone="UTC",
        payload={"task": "report"},
        enabled=True,
        temporal_schedule_id=temporal_schedule_id(project_id, schedule_id),
        created_at=datetime.now(UTC),
    )
    return dataclasses.replace(schedule, **changes)


@pytest.fixture
def real_engine(temporal_client: Client, task_queue: str) -> TemporalScheduleEngine:
    return TemporalScheduleEngine(task_queue, temporal_client)


@pytest.fixture(params=["fake", "temporal"])
def any_engine(request: pytest.FixtureRequest) -> ScheduleEngine:
    if request.param == "fake":
        return FakeScheduleEngine()
    return request.getfixturevalue("real_engine")


async def test_create_delete_and_describe(any_engine: ScheduleEngine) -> None:
    schedule = _schedule(IntervalTrigger(3600))
    await any_engine.create(schedule)
    with pytest.raises(AlreadyExists):
        await any_engine.create(schedule)
    await any_engine.next_run_time(schedule.temporal_schedule_id)
    assert await any_engine.delete(schedule.temporal_schedule_id) is True
    assert await any_engine.delete(schedule.temporal_schedule_id) is False
    with pytest.raises(NotFound):
        await any_engine.next_run_time(schedule.temporal_schedule_id)


async def test_cron_schedule_in_time_zone(real_engine: TemporalScheduleEngine, temporal_client: Client) -> None:
    schedule = _schedule(CronTrigger("0 9 * * *"), time_zone="America/New_York")
    await real_engine.create(schedule)
    try:
        description = await temporal_client.get_schedule_handle(schedule.temporal_schedule_id).describe()
        assert description.schedule.spec.time_zone_name == "America/New_York"
        action = description.schedule.action
        assert action.workflow == WORKFLOW_NAME and action.id == schedule.temporal_schedule_id
        next_run = await real_engine.next_run_time(schedule.temporal_schedule_id)
        assert next_run is not None and next_run.astimezone(UTC).hour in (13, 14)  # 09:00 EST/EDT
    finally:
        await real_engine.delete(schedule.temporal_schedule_id)


async def test_one_off_fires_once_at_the_whole_second(
    real_engine: TemporalScheduleEngine, temporal_client: Client
) -> None:
    run_at = datetime.now(UTC) + timedelta(days=2, microseconds=1)
    schedule = _schedule(OneOffTrigger(run_at))
    await real_engine.create(schedule)
    try:
        description = await temporal_client.get_schedule_handle(schedule.temporal_schedule_id).describe()
        assert description.schedule.state.limited_actions and description.schedule.state.remaining_actions == 1
        assert description.info.next_action_times == [datetime.fromtimestamp(math.ceil(run_at.timestamp()), UTC)]
    finally:
        await real_engine.delete(schedule.temporal_schedule_id)


async def test_disabled_schedule_is_paused(real_engine: TemporalScheduleEngine, temporal_client: Client) -> None:
    schedule = _schedule(IntervalTrigger(60), enabled=False)
    await real_engine.create(schedule)
    try:
        description = await temporal_client.get_schedule_handle(schedule.temporal_schedule_id).describe()
        assert description.schedule.state.paused
        assert await real_engine.next_run_time(schedule.temporal_schedule_id) is None
    finally:
        await real_engine.delete(schedule.temporal_schedule_id)


async def test_unattached_engine_is_unavailable(task_queue: str) -> None:
    engine = TemporalScheduleEngine(task_queue)
    with pytest.raises(Unavailable):
        await engine.create(_schedule(IntervalTrigger(60)))
    with pytest.raises(Unavailable):
        await engine.delete("project-x-schedule-y")
