"""The job use cases over in-memory fakes: access, agents, idempotency, pending starts, cancel."""

from __future__ import annotations

import pytest

from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_scheduler.adapters.fakes import FakeAgents
from agentmesh_scheduler.adapters.job_fakes import FakeJobEngine, InMemoryJobRepository
from agentmesh_scheduler.domain.job_runs import JobSteps, step_idempotency_key
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.jobs import (
    JobDraft,
    JobProgress,
    JobStatus,
    ReplyState,
    ReplyStatus,
    SentMessage,
    StepDraft,
    StepStatus,
    StepUpdate,
    job_workflow_id,
)

from ..conftest import NOW


def _draft(agent_id: str, key: str = "") -> JobDraft:
    steps = (StepDraft("a", agent_id, "first"), StepDraft("b", agent_id, "then {{steps.a.output}}", ("a",)))
    return JobDraft("report", steps, key)


async def test_create_stores_the_job_and_starts_its_workflow(
    jobs: Jobs, job_repository: InMemoryJobRepository, job_engine: FakeJobEngine, admin: Identity, project_id: str,
    agent_id: str,
) -> None:  # fmt: skip
    job = await jobs.create(admin, project_id, _draft(agent_id))
    assert job.workflow_id == job_workflow_id(project_id, job.id) == f"project-{project_id}-job-{job.id}"
    assert job.status is JobStatus.PENDING and [s.spec.id for s in job.steps] == ["a", "b"]
    assert job.temporal_ui_url == f"http://ui/{job.workflow_id}"
    assert job_engine.started == [job.workflow_id]
    assert (await jobs.get(admin, project_id, job.id)).steps == job.steps


async def test_the_same_idempotency_key_gives_the_same_job(
    jobs: Jobs, job_engine: FakeJobEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    first = await jobs.create(admin, project_id, _draft(agent_id, key="nightly-2026-11-24"))
    second = await jobs.create(admin, project_id, _draft(agent_id, key="nightly-2026-11-24"))
    assert first.id == second.id and job_engine.started == [first.workflow_id]
    other = await jobs.create(admin, project_id, _draft(agent_id))
    assert other.id != first.id


async def test_unknown_or_foreign_agents_are_refused_naming_the_step(
    jobs: Jobs, agents: FakeAgents, job_repository: InMemoryJobRepository, admin: Identity, project_id: str,
    agent_id: str,
) -> None:  # fmt: skip
    foreign = new_id()
    agents.add_agent(new_id(), foreign)
    draft = JobDraft("r", (StepDraft("a", agent_id, "x"), StepDraft("b", foreign, "y")))
    with pytest.raises(InvalidInput, match=f"step 'b': agent {foreign} not found in this project"):
        await jobs.create(admin, project_id, draft)
    assert job_repository.jobs == {}


async def test_access(
    jobs: Jobs, admin: Identity, member: Identity, outsider: Identity, project_id: str, agent_id: str
) -> None:
    job = await jobs.create(admin, project_id, _draft(agent_id))
    with pytest.raises(PermissionDenied):
        await jobs.create(member, project_id, _draft(agent_id))
    with pytest.raises(PermissionDenied):
        await jobs.cancel(member, project_id, job.id)
    assert (await jobs.get(member, project_id, job.id)).id == job.id
    for call in (
        jobs.create(outsider, project_id, JobDraft("", ())),
        jobs.get(outsider, project_id, job.id),
        jobs.list_page(outsider, project_id, None, 10, ""),
        jobs.cancel(outsider, project_id, job.id),
    ):
        with pytest.raises(NotFound, match="project not found"):
            await call
    with pytest.raises(NotFound, match="job not found"):
        await jobs.get(admin, project_id, new_id())


async def test_a_failed_start_leaves_the_job_pending_for_the_next_start(
    jobs: Jobs, job_engine: FakeJobEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    job_engine.fail_with = Unavailable("temporal unavailable")
    job = await jobs.create(admin, project_id, _draft(agent_id, key="k"))
    assert job.status is JobStatus.PENDING and job_engine.started == []
    job_engine.fail_with = None
    assert await jobs.start_pending() == 1
    assert job_engine.started == [job.workflow_id]


async def test_list_filters_by_status_newest_first(
    jobs: Jobs, job_repository: InMemoryJobRepository, admin: Identity, project_id: str, agent_id: str
) -> None:
    made = [await jobs.create(admin, project_id, _draft(agent_id)) for _ in range(3)]
    await job_repository.record(JobProgress(project_id, made[1].id, 1, status=JobStatus.COMPLETED, at=NOW))
    listed, cursor = await jobs.list_page(admin, project_id, None, 2, "")
    assert len(listed) == 2 and cursor
    done, _ = await jobs.list_page(admin, project_id, JobStatus.COMPLETED, 10, "")
    assert [j.id for j in done] == [made[1].id] and done[0].ended_at == NOW


async def test_cancel_asks_the_workflow_unless_finished(
    jobs: Jobs, job_repository: InMemoryJobRepository, job_engine: FakeJobEngine, admin: Identity, project_id: str,
    agent_id: str,
) -> None:  # fmt: skip
    running = await jobs.create(admin, project_id, _draft(agent_id))
    await jobs.cancel(admin, project_id, running.id)
    finished = await jobs.create(admin, project_id, _draft(agent_id))
    await job_repository.record(JobProgress(project_id, finished.id, 1, status=JobStatus.FAILED))
    await jobs.cancel(admin, project_id, finished.id)
    assert job_engine.cancelled == [running.workflow_id]


async def test_deleting_the_project_removes_and_cancels_its_jobs(
    jobs: Jobs, job_repository: InMemoryJobRepository, job_engine: FakeJobEngine, admin: Identity, project_id: str,
    agent_id: str,
) -> None:  # fmt: skip
    job = await jobs.create(admin, project_id, _draft(agent_id))
    assert await jobs.delete_project(admin, project_id) == 1
    assert job_repository.jobs == {} and job_engine.cancelled == [job.workflow_id]


async def test_a_step_attempt_sends_once_and_records_running(
    jobs: Jobs, job_repository: InMemoryJobRepository, agents: FakeAgents, admin: Identity, project_id: str,
    agent_id: str,
) -> None:  # fmt: skip
    job = await jobs.create(admin, project_id, _draft(agent_id))
    steps = JobSteps(job_repository, agents)
    args = {"project_id": project_id, "job_id": job.id, "step_id": "a", "attempt": 1, "agent_id": agent_id,
            "content": "first", "seq": 2, "started_at": NOW}  # fmt: skip
    first = await steps.start(**args)
    again = await steps.start(**args)  # a retried activity
    assert first == again and len(agents.sent) == 1
    assert (
        agents.sent[0].idempotency_key == step_idempotency_key(job.id, "a", 1)
        and agents.sent[0].correlation_id == job.id
    )
    state = (await job_repository.get(project_id, job.id)).step("a")
    assert (state.status, state.attempts, state.message_id, state.sent_input) == (
        StepStatus.RUNNING, 1, first.message_id, "first",
    )  # fmt: skip
    second_attempt = await steps.start(**{**args, "attempt": 2, "seq": 5})
    assert second_attempt.message_id != first.message_id
    # A late, older report does not overwrite a newer one.
    await job_repository.record(JobProgress(project_id, job.id, 3, steps=(StepUpdate("a", StepStatus.FAILED),)))
    assert (await job_repository.get(project_id, job.id)).step("a").status is StepStatus.RUNNING
    await job_repository.remove_project(project_id)
    with pytest.raises(NotFound, match="job was deleted"):
        await steps.start(**{**args, "attempt": 3, "seq": 6})


class QuickAgent(FakeAgents):
    """Replies on the third look at its message."""

    def __init__(self) -> None:
        super().__init__()
        self.looks = 0

    async def reply_state(self, project_id: str, message_id: str, conversation_id: str) -> ReplyState:
        self.looks += 1
        return ReplyState(ReplyStatus.COMPLETE, output="ok") if self.looks >= 3 else ReplyState(ReplyStatus.WAITING)


async def test_a_look_for_a_reply_waits_briefly_for_a_quick_agent(
    job_repository: InMemoryJobRepository, project_id: str
) -> None:
    agent = QuickAgent()
    steps = JobSteps(job_repository, agent)
    sent = SentMessage(new_id(), new_id())
    assert (await steps.reply(project_id, sent)).status is ReplyStatus.WAITING  # no wait: one look
    assert agent.looks == 1
    assert (await steps.reply(project_id, sent, wait_seconds=1.0)).output == "ok"
    assert agent.looks == 3
