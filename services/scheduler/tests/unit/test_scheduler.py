"""The schedule use cases over in-memory fakes: access, validation, consistency."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.domain.models import CronTrigger, IntervalTrigger, OneOffTrigger, ScheduleDraft, Trigger
from agentmesh_scheduler.domain.scheduler import Scheduler

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def _draft(agent: str, trigger: Trigger | None = None, **changes: object) -> ScheduleDraft:
    values: dict[str, object] = {
        "agent_id": agent,
        "trigger": trigger or IntervalTrigger(60),
        "time_zone": "",
        "payload": {"task": "daily report"},
        "enabled": True,
    }
    values.update(changes)
    return ScheduleDraft(**values)  # type: ignore[arg-type]


async def test_create_stores_row_and_temporal_schedule(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await scheduler.create(
        admin, project_id, _draft(agent_id, CronTrigger("0 9 * * *"), time_zone="Asia/Tokyo")
    )
    assert schedule.temporal_schedule_id == f"project-{project_id}-schedule-{schedule.id}"
    assert schedule.time_zone == "Asia/Tokyo"
    assert schedule.created_at == NOW
    assert schedule.next_run_at == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert schedule.next_runs == (schedule.next_run_at,)  # answered as a get is: Temporal's next runs
    stored = repository.rows[schedule.id]
    assert stored == dataclasses.replace(schedule, next_runs=())
    assert engine.schedules[schedule.temporal_schedule_id] == stored


@pytest.mark.parametrize("failure", [Unavailable("temporal unavailable"), InvalidInput("unexpected")])
async def test_create_is_answered_when_reading_back_its_next_runs_fails(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, admin: Identity,
    project_id: str, agent_id: str, monkeypatch: pytest.MonkeyPatch, failure: Exception,
) -> None:  # fmt: skip
    async def describe(_temporal_schedule_id: str) -> None:
        raise failure

    monkeypatch.setattr(engine, "describe", describe)
    schedule = await scheduler.create(admin, project_id, _draft(agent_id, IntervalTrigger(60)))
    # Created all the same, with the next run computed here.
    assert schedule.next_run_at == NOW + timedelta(seconds=60)
    assert repository.rows[schedule.id].id == schedule.id
    assert schedule.temporal_schedule_id in engine.schedules


async def test_create_defaults_time_zone_to_utc(
    scheduler: Scheduler, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await scheduler.create(admin, project_id, _draft(agent_id))
    assert schedule.time_zone == "UTC"


async def test_privileged_callers_may_create(
    scheduler: Scheduler, service_identity: Identity, project_id: str, agent_id: str
) -> None:
    assert await scheduler.create(service_identity, project_id, _draft(agent_id))


async def test_non_member_gets_not_found(
    scheduler: Scheduler, outsider: Identity, project_id: str, agent_id: str
) -> None:
    with pytest.raises(NotFound, match="project not found"):
        await scheduler.create(outsider, project_id, _draft(agent_id, trigger=CronTrigger("bad")))
    with pytest.raises(NotFound):
        await scheduler.list_page(outsider, project_id, 0, "")


async def test_project_user_cannot_write(
    scheduler: Scheduler, member: Identity, admin: Identity, project_id: str, agent_id: str
) -> None:
    with pytest.raises(PermissionDenied):
        await scheduler.create(member, project_id, _draft(agent_id))
    schedule = await scheduler.create(admin, project_id, _draft(agent_id))
    with pytest.raises(PermissionDenied):
        await scheduler.delete(member, project_id, schedule.id)
    with pytest.raises(PermissionDenied):
        await scheduler.delete_project(member, project_id)
    assert (await scheduler.get(member, project_id, schedule.id)).id == schedule.id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"agent_id": "not-a-uuid"}, "agent_id"),
        ({"trigger": None}, "exactly one"),
        ({"trigger": CronTrigger("61 * * * *")}, "invalid cron"),
        ({"trigger": IntervalTrigger(0)}, "interval_seconds"),
        ({"trigger": OneOffTrigger(NOW - timedelta(minutes=1))}, "in the future"),
        ({"time_zone": "Nowhere/Special"}, "unknown time zone"),
        ({"payload": None}, "payload is required"),
    ],
)
async def test_bad_input_is_invalid(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    admin: Identity,
    project_id: str,
    agent_id: str,
    changes: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await scheduler.create(admin, project_id, dataclasses.replace(_draft(agent_id), **changes))
    assert repository.rows == {}


async def test_missing_schedule_and_bad_ids(scheduler: Scheduler, admin: Identity, project_id: str) -> None:
    with pytest.raises(InvalidInput, match="schedule is required"):
        await scheduler.create(admin, project_id, None)
    with pytest.raises(InvalidInput, match="project_id"):
        await scheduler.get(admin, "nope", new_id())
    with pytest.raises(InvalidInput, match="schedule_id"):
        await scheduler.get(admin, project_id, "nope")


async def test_unknown_agent_is_not_found(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, admin: Identity, project_id: str
) -> None:
    with pytest.raises(NotFound, match="agent not found"):
        await scheduler.create(admin, project_id, _draft(new_id()))
    assert repository.rows == {}


async def test_temporal_failure_rolls_back_the_row(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    engine.fail_with = Unavailable("temporal unavailable")
    with pytest.raises(Unavailable):
        await scheduler.create(admin, project_id, _draft(agent_id))
    assert repository.rows == {}


async def test_get_uses_temporal_next_run_and_falls_back(
    scheduler: Scheduler, engine: FakeScheduleEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await scheduler.create(admin, project_id, _draft(agent_id, IntervalTrigger(60)))
    temporal_next = NOW + timedelta(seconds=42)
    engine.next_runs[schedule.temporal_schedule_id] = temporal_next
    assert (await scheduler.get(admin, project_id, schedule.id)).next_run_at == temporal_next
    engine.fail_with = Unavailable("down")
    assert (await scheduler.get(admin, project_id, schedule.id)).next_run_at == NOW + timedelta(seconds=60)


async def test_disabled_schedule_has_no_next_run(
    scheduler: Scheduler, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await scheduler.create(admin, project_id, _draft(agent_id, enabled=False))
    assert schedule.next_run_at is None
    assert (await scheduler.get(admin, project_id, schedule.id)).next_run_at is None


async def test_list_pages_in_creation_order(
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    clock = iter(NOW + timedelta(seconds=i) for i in range(100))
    scheduler = Scheduler(repository, engine, agents, clock=lambda: next(clock))
    created = [await scheduler.create(admin, project_id, _draft(agent_id)) for _ in range(5)]
    page, cursor = await scheduler.list_page(admin, project_id, 2, "")
    seen = [s.id for s in page]
    while cursor:
        page, cursor = await scheduler.list_page(admin, project_id, 2, cursor)
        seen += [s.id for s in page]
    assert seen == [s.id for s in created]
    with pytest.raises(InvalidInput):
        await scheduler.list_page(admin, project_id, -1, "")
    with pytest.raises(InvalidInput):
        await scheduler.list_page(admin, project_id, 0, "garbage!")


async def test_delete_tolerates_a_missing_temporal_schedule(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await scheduler.create(admin, project_id, _draft(agent_id))
    engine.schedules.clear()
    await scheduler.delete(admin, project_id, schedule.id)
    assert repository.rows == {}
    with pytest.raises(NotFound, match="schedule not found"):
        await scheduler.delete(admin, project_id, schedule.id)


async def test_delete_keeps_the_row_when_temporal_is_down(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    schedule = await scheduler.create(admin, project_id, _draft(agent_id))
    engine.fail_with = Unavailable("down")
    with pytest.raises(Unavailable):
        await scheduler.delete(admin, project_id, schedule.id)
    assert schedule.id in repository.rows


async def test_schedules_of_other_projects_are_invisible(
    scheduler: Scheduler,
    agents: FakeAgents,
    admin: Identity,
    service_identity: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    other_project, other_agent = new_id(), new_id()
    agents.add_agent(other_project, other_agent)
    theirs = await scheduler.create(service_identity, other_project, _draft(other_agent))
    with pytest.raises(NotFound):
        await scheduler.get(admin, project_id, theirs.id)
    with pytest.raises(NotFound):
        await scheduler.delete(admin, project_id, theirs.id)


async def test_delete_project_removes_everything(
    scheduler: Scheduler,
    repository: InMemoryScheduleRepository,
    engine: FakeScheduleEngine,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    for _ in range(3):
        await scheduler.create(admin, project_id, _draft(agent_id))
    assert await scheduler.delete_project(admin, project_id) == 3
    assert repository.rows == {} and engine.schedules == {}
    assert await scheduler.delete_project(admin, project_id) == 0


class _CreatedThenTimedOut(FakeScheduleEngine):
    """Temporal created the schedule, but the answer never arrived."""

    async def create(self, schedule) -> None:
        await super().create(schedule)
        raise Unavailable("temporal unavailable")


async def test_rollback_removes_a_temporal_schedule_created_despite_the_error(
    repository: InMemoryScheduleRepository, agents: FakeAgents, admin: Identity, project_id: str, agent_id: str
) -> None:
    engine = _CreatedThenTimedOut()
    scheduler = Scheduler(repository, engine, agents, clock=lambda: NOW)
    with pytest.raises(Unavailable):
        await scheduler.create(admin, project_id, _draft(agent_id))
    assert repository.rows == {} and engine.schedules == {}
