"""Schedules whose target is a job template: create and update checks, and what a firing starts."""

from __future__ import annotations

import dataclasses

import pytest
from google.protobuf import field_mask_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_scheduler.activities.schedule import SCHEDULER_IDENTITY
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.adapters.job_fakes import FakeJobEngine, InMemoryJobRepository
from agentmesh_scheduler.adapters.temporal_schedules import workflow_input
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.jobs import JobDraft, StepDraft
from agentmesh_scheduler.domain.models import IntervalTrigger, Schedule, ScheduleDraft, SchedulePatch
from agentmesh_scheduler.domain.runs import ScheduleRuns
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.rpc import mapping


def _job(agent_id: str, **changes: object) -> JobDraft:
    steps = (
        StepDraft("fetch", agent_id, "fetch the news"),
        StepDraft("sum", agent_id, "sum {{steps.fetch.output}}", ("fetch",)),
    )
    return dataclasses.replace(JobDraft("nightly digest", steps), **changes)  # type: ignore[arg-type]


def _draft(job: JobDraft | None, agent_id: str = "", payload: object = None) -> ScheduleDraft:
    return ScheduleDraft(agent_id, IntervalTrigger(60), "UTC", payload, True, job=job)  # type: ignore[arg-type]


async def _job_schedule(scheduler: Scheduler, admin: Identity, project_id: str, agent_id: str) -> Schedule:
    return await scheduler.create(admin, project_id, _draft(_job(agent_id)))


async def test_create_stores_a_validated_job_template_and_no_agent(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, admin: Identity,
    project_id: str, agent_id: str,
) -> None:  # fmt: skip
    schedule = await _job_schedule(scheduler, admin, project_id, agent_id)
    assert schedule.agent_id is None and schedule.payload is None
    assert schedule.job is not None and schedule.job.name == "nightly digest"
    assert [(s.id, s.depends_on, s.max_attempts) for s in schedule.job.steps] == [
        ("fetch", (), 1),
        ("sum", ("fetch",), 1),
    ]
    stored = repository.rows[schedule.id]
    assert stored == dataclasses.replace(schedule, next_runs=())
    assert engine.schedules[schedule.temporal_schedule_id] == stored
    # Each run of its Temporal Schedule knows it starts a job.
    assert workflow_input(schedule).job is True
    assert (await scheduler.get(admin, project_id, schedule.id)).job == schedule.job


@pytest.mark.parametrize(
    ("agent", "payload", "with_job", "message"),
    [
        (True, "hello", True, "either agent_id (with payload) or job, not both"),
        (False, "hello", True, "either agent_id (with payload) or job, not both"),
        (False, None, False, "needs a target: agent_id (with payload) or job"),
    ],
)
async def test_exactly_one_target_is_required(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, admin: Identity, project_id: str, agent_id: str,
    agent: bool, payload: object, with_job: bool, message: str,
) -> None:  # fmt: skip
    draft = _draft(_job(agent_id) if with_job else None, agent_id if agent else "", payload)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        await scheduler.create(admin, project_id, draft)
    assert repository.rows == {}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((StepDraft("a", "{agent}", "x", ("b",)), StepDraft("b", "{agent}", "y", ("a",))), "dependency cycle"),
        ((StepDraft("a", "{agent}", "x"), StepDraft("a", "{agent}", "y")), "step 'a': duplicate step id"),
        ((StepDraft("a", "{agent}", "x", ("zz",)),), "step 'a': depends on unknown step 'zz'"),
        ((StepDraft("a", "{agent}", "{{steps.zz.output}}"),), "step 'a': input references unknown step 'zz'"),
        (tuple(StepDraft(f"s{i}", "{agent}", "x") for i in range(51)), "at most 50 steps"),
        ((), "at least one step"),
    ],
)
async def test_the_template_is_checked_as_a_job_is(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, admin: Identity, project_id: str, agent_id: str,
    steps: tuple[StepDraft, ...], message: str,
) -> None:  # fmt: skip
    steps = tuple(dataclasses.replace(step, agent_id=agent_id) for step in steps)
    with pytest.raises(InvalidInput, match=message):
        await scheduler.create(admin, project_id, _draft(JobDraft("j", steps)))
    assert repository.rows == {}


async def test_unknown_or_foreign_agents_and_idempotency_keys_are_refused(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, agents: FakeAgents, admin: Identity,
    project_id: str, agent_id: str,
) -> None:  # fmt: skip
    foreign = new_id()
    agents.add_agent(new_id(), foreign)
    draft = JobDraft("j", (StepDraft("a", agent_id, "x"), StepDraft("b", foreign, "y")))
    with pytest.raises(InvalidInput, match=f"step 'b': agent {foreign} not found in this project"):
        await scheduler.create(admin, project_id, _draft(draft))
    with pytest.raises(InvalidInput, match="idempotency_key is not allowed"):
        await scheduler.create(admin, project_id, _draft(_job(agent_id, idempotency_key="k")))
    assert repository.rows == {}


async def test_members_read_admins_write_non_members_see_nothing(
    scheduler: Scheduler, admin: Identity, member: Identity, outsider: Identity, project_id: str, agent_id: str
) -> None:
    with pytest.raises(PermissionDenied):
        await scheduler.create(member, project_id, _draft(_job(agent_id)))
    with pytest.raises(NotFound):
        await scheduler.create(outsider, project_id, _draft(_job(agent_id)))
    schedule = await _job_schedule(scheduler, admin, project_id, agent_id)
    assert (await scheduler.get(member, project_id, schedule.id)).job == schedule.job
    with pytest.raises(NotFound):
        await scheduler.get(outsider, project_id, schedule.id)


async def test_update_replaces_the_template_and_keeps_the_target_kind(
    scheduler: Scheduler, engine: FakeScheduleEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    schedule = await _job_schedule(scheduler, admin, project_id, agent_id)
    renamed = JobDraft("weekly digest", (StepDraft("only", agent_id, "all of it"),))
    updated = await scheduler.update(admin, project_id, schedule.id, SchedulePatch(job=renamed))
    assert updated.job is not None and updated.job.name == "weekly digest" and updated.revision == 1
    assert engine.schedules[schedule.temporal_schedule_id].job == updated.job
    with pytest.raises(InvalidInput, match="payload applies to message schedules only"):
        await scheduler.update(admin, project_id, schedule.id, SchedulePatch(payload="hi"))
    with pytest.raises(InvalidInput, match="step 'a': duplicate step id"):
        bad = JobDraft("x", (StepDraft("a", agent_id, "x"), StepDraft("a", agent_id, "y")))
        await scheduler.update(admin, project_id, schedule.id, SchedulePatch(job=bad))
    message = await scheduler.create(admin, project_id, _draft(None, agent_id, "hello"))
    with pytest.raises(InvalidInput, match="job applies to job schedules only"):
        await scheduler.update(admin, project_id, message.id, SchedulePatch(job=renamed))


async def test_a_firing_starts_one_job_and_a_repeated_firing_starts_nothing_new(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, agents: FakeAgents,
    job_repository: InMemoryJobRepository, job_engine: FakeJobEngine, jobs: Jobs, admin: Identity, project_id: str,
    agent_id: str,
) -> None:  # fmt: skip
    schedule = await _job_schedule(scheduler, admin, project_id, agent_id)
    runs = ScheduleRuns(repository, engine, agents, jobs)
    firing = {"identity": SCHEDULER_IDENTITY, "project_id": project_id, "schedule_id": schedule.id}
    outcome = await runs.start_job(**firing, idempotency_key="wf-1:run-1")
    (job,) = job_repository.jobs.values()
    assert outcome == f"started job {job.id}"
    assert job.project_id == project_id and job.name == "nightly digest" and job.idempotency_key == "wf-1:run-1"
    assert [state.spec for state in job.steps] == list(schedule.job.steps)  # type: ignore[union-attr]
    assert job_engine.started == [job.workflow_id]
    # A retried activity (same firing) gets the same job back; nothing new starts.
    assert await runs.start_job(**firing, idempotency_key="wf-1:run-1") == outcome
    assert len(job_repository.jobs) == 1 and job_engine.started == [job.workflow_id]
    # The next firing starts the next job; nothing goes out as a plain message.
    second = await runs.start_job(**firing, idempotency_key="wf-2:run-1")
    assert second != outcome and len(job_repository.jobs) == 2 and agents.sent == []


async def test_a_firing_of_a_deleted_schedule_or_a_vanished_agent_starts_nothing(
    scheduler: Scheduler, repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, agents: FakeAgents,
    job_repository: InMemoryJobRepository, jobs: Jobs, admin: Identity, project_id: str, agent_id: str,
) -> None:  # fmt: skip
    runs = ScheduleRuns(repository, engine, agents, jobs)
    gone = await runs.start_job(
        identity=SCHEDULER_IDENTITY, project_id=project_id, schedule_id=new_id(), idempotency_key="k"
    )
    assert gone.startswith("skipped")
    schedule = await _job_schedule(scheduler, admin, project_id, agent_id)
    agents.agents[project_id].discard(agent_id)
    with pytest.raises(InvalidInput, match=f"step 'fetch': agent {agent_id} not found"):
        await runs.start_job(
            identity=SCHEDULER_IDENTITY, project_id=project_id, schedule_id=schedule.id, idempotency_key="k"
        )
    assert job_repository.jobs == {}


def test_the_job_template_crosses_the_rpc_both_ways(agent_id: str, project_id: str) -> None:
    step = pb.JobStepSpec(id="a", agent_id=agent_id, depends_on=[], retry=pb.JobStepRetry(max_attempts=3))
    step.input.string_value = "go"
    request = pb.CreateScheduleRequest(
        project_id=project_id,
        schedule=pb.Schedule(spec=pb.ScheduleSpec(interval_seconds=60), job=pb.ScheduleJob(name="j", steps=[step])),
    )
    draft = mapping.draft_from_request(request)
    assert draft is not None and draft.agent_id == "" and draft.payload is None
    assert draft.job == JobDraft("j", (StepDraft("a", agent_id, "go", (), 3, None, None),))
    patch = mapping.patch_from_request(
        pb.UpdateScheduleRequest(schedule=request.schedule, update_mask=field_mask_pb2.FieldMask(paths=["job"]))
    )
    assert patch.job == draft.job and not patch.problems
    empty = mapping.patch_from_request(pb.UpdateScheduleRequest(update_mask=field_mask_pb2.FieldMask(paths=["job"])))
    assert empty.problems == ("job is required",)


async def test_a_job_schedule_shows_its_template_and_no_payload(
    scheduler: Scheduler, admin: Identity, project_id: str, agent_id: str
) -> None:
    shown = mapping.schedule_to_proto(await _job_schedule(scheduler, admin, project_id, agent_id))
    assert shown.agent_id == "" and not shown.HasField("payload")
    assert shown.job.name == "nightly digest" and [s.id for s in shown.job.steps] == ["fetch", "sum"]
    assert list(shown.job.steps[1].depends_on) == ["fetch"] and shown.job.steps[1].retry.max_attempts == 1
