"""JobWorkflow on the real Temporal dev server, with a fake agents service.

Each test runs its own worker on its own task queue. Histories recorded here
feed the unit suite's replay tests (refresh: AGENTMESH_RECORD_HISTORIES=1).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from agentmesh_core.identity import Identity
from agentmesh_devstack.waiting import eventually
from agentmesh_scheduler.activities import SCHEDULER_IDENTITY, JobActivities, ScheduleActivities
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.adapters.fakes import SentMessage as Sent
from agentmesh_scheduler.adapters.job_fakes import InMemoryJobRepository
from agentmesh_scheduler.adapters.temporal_jobs import TemporalJobEngine
from agentmesh_scheduler.adapters.temporal_search import SearchAttributes
from agentmesh_scheduler.domain.failures import Failure
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.jobs import (
    Job,
    JobDraft,
    JobStatus,
    ReplyState,
    ReplyStatus,
    StepDraft,
    StepStatus,
)
from agentmesh_scheduler.worker import WORKFLOWS, build_worker

HISTORIES = Path(__file__).parents[1] / "unit" / "histories"


class Harness:
    """A worker, the Jobs use cases and their fakes on one task queue."""

    def __init__(self, client: Client, task_queue: str, agents: FakeAgents) -> None:
        self.client, self.agents = client, agents
        self.repository = InMemoryJobRepository()
        self.engine = TemporalJobEngine(task_queue, client, search_attributes=SearchAttributes(enabled=True))
        self.jobs = Jobs(self.repository, self.engine, agents)
        self.worker = build_worker(
            client,
            task_queue,
            ScheduleActivities(InMemoryScheduleRepository(), FakeScheduleEngine(), agents),
            JobActivities(self.repository, agents, reports=agents),
        )

    async def until(self, admin: Identity, project_id: str, job: Job, check: Callable[[Job], bool]) -> Job:
        async def reached() -> Job | None:
            current = await self.jobs.get(admin, project_id, job.id)
            return current if check(current) else None

        return await eventually(reached, timeout=30, interval=0.1, what=f"job {job.name!r} to reach {check}")

    async def awaiting_reply(self, content: str) -> str:
        """The id of the step message with this content, once its reply has been looked for."""

        def looked_for() -> str | None:
            sent = next((m for m in self.agents.sent if m.content == content), None)
            return sent.message_id if sent is not None and sent.message_id in self.agents.replies else None

        return await eventually(looked_for, timeout=30, interval=0.05, what=f"a wait for the reply to {content!r}")

    async def finished(self, admin: Identity, project_id: str, job: Job) -> Job:
        return await self.until(admin, project_id, job, lambda j: j.status.is_final)

    async def history(self, job: Job, name: str) -> WorkflowHistory:
        history = await self.client.get_workflow_handle(job.workflow_id).fetch_history()
        result = await Replayer(workflows=WORKFLOWS).replay_workflow(history)
        assert result.replay_failure is None
        if os.environ.get("AGENTMESH_RECORD_HISTORIES") == "1":
            (HISTORIES / f"{name}.json").write_text(history.to_json())
        return history


@pytest.fixture
async def harness(temporal_client: Client, task_queue: str, agents: FakeAgents):
    made = Harness(temporal_client, task_queue, agents)
    async with made.worker:
        yield made


def _echo_by_agent(message: Sent) -> ReplyState:
    return ReplyState(ReplyStatus.COMPLETE, output=f"<{message.content}>")


async def test_a_diamond_runs_in_parallel_then_fans_in(harness: Harness, admin: Identity, project_id: str) -> None:
    agents = harness.agents
    data, analysis, manager = (agents_id := [_agent(agents, project_id) for _ in range(3)])
    assert agents_id
    agents.answer = _echo_by_agent
    draft = JobDraft(
        "daily report",
        (
            StepDraft("data", data, "collect the numbers"),
            StepDraft("analysis", analysis, "find the trends"),
            StepDraft(
                "compose", manager, "report: {{steps.data.output}} + {{steps.analysis.output}}", ("data", "analysis")
            ),
            StepDraft("send", manager, {"publish": "{{steps.compose.output}}"}, ("compose",)),
        ),
    )
    job = await harness.jobs.create(admin, project_id, draft)
    done = await harness.finished(admin, project_id, job)

    assert done.status is JobStatus.COMPLETED, done
    steps = {state.spec.id: state for state in done.steps}
    assert {s.status for s in steps.values()} == {StepStatus.COMPLETED}
    assert steps["data"].output == "<collect the numbers>"
    assert steps["compose"].sent_input == "report: <collect the numbers> + <find the trends>"
    assert steps["compose"].output == "<report: <collect the numbers> + <find the trends>>"
    assert steps["send"].sent_input == {"publish": "<report: <collect the numbers> + <find the trends>>"}
    # Fan-out: both first steps started in the same workflow task; fan-in: compose after both ended.
    assert steps["data"].started_at == steps["analysis"].started_at
    assert steps["compose"].started_at >= max(steps["data"].ended_at, steps["analysis"].ended_at)
    assert len(agents.sent) == 4 and all(m.correlation_id == job.id for m in agents.sent)
    assert len({m.idempotency_key for m in agents.sent}) == 4
    await harness.history(job, "job_diamond")
    await harness.engine.start(job)  # a repeated start (e.g. the start-up reconcile) never runs it again
    await asyncio.sleep(0.5)
    assert len(agents.sent) == 4

    # Operators list a project's jobs by search attribute.
    query = f'AgentmeshProjectId = "{project_id}" AND AgentmeshJobId = "{job.id}"'
    found = await _listed(harness.client, query)
    assert found == [job.workflow_id]
    assert await _listed(harness.client, f'AgentmeshAgentId = "{analysis}"') == [job.workflow_id]


async def _listed(client: Client, query: str) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        found = [execution.id async for execution in client.list_workflows(query)]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


def _agent(agents: FakeAgents, project_id: str) -> str:
    from agentmesh_core.ids import new_id

    agent_id = new_id()
    agents.add_agent(project_id, agent_id)
    return agent_id


async def test_a_failing_step_is_retried_then_fails_the_job(
    harness: Harness, admin: Identity, project_id: str, agent_id: str
) -> None:
    agents = harness.agents

    def answer(message: Sent) -> ReplyState:
        if message.content == "break":
            return ReplyState(ReplyStatus.FAILED, error="inference failed: prompt too long")
        return ReplyState(ReplyStatus.COMPLETE, output="ok")

    agents.answer = answer
    draft = JobDraft(
        "fragile",
        (
            StepDraft("a", agent_id, "fine"),
            StepDraft("b", agent_id, "break", ("a",), max_attempts=3, backoff_seconds=0.2),
            StepDraft("c", agent_id, "never", ("b",)),
        ),
    )
    job = await harness.jobs.create(admin, project_id, draft)
    done = await harness.finished(admin, project_id, job)
    assert done.status is JobStatus.FAILED and done.failed_step_id == "b"
    assert done.error == "step 'b' failed: the agent failed: inference failed: prompt too long"
    a, b, c = done.steps
    assert (a.status, b.status, b.attempts, c.status) == (
        StepStatus.COMPLETED, StepStatus.FAILED, 3, StepStatus.SKIPPED,
    )  # fmt: skip
    sent_b = [m for m in agents.sent if m.content == "break"]
    assert len(sent_b) == 3 and len({m.idempotency_key for m in sent_b}) == 3  # one new message per attempt
    # The monitor hears of it once, as the scheduler, concerning the failed step's agent.
    reported = await eventually(lambda: agents.failures.get(f"job:{job.id}"), timeout=10, what="the job's report")
    assert list(agents.failures) == [f"job:{job.id}"]
    assert (reported.what, reported.agent_id, reported.identity) == (Failure.JOB, agent_id, SCHEDULER_IDENTITY)
    assert reported.detail == f"job {job.id} failed at step b: {done.error}"
    await harness.history(job, "job_failed_step")


async def test_cancel_stops_a_running_job(harness: Harness, admin: Identity, project_id: str, agent_id: str) -> None:
    harness.agents.answer = lambda message: ReplyState(ReplyStatus.WAITING)
    # Retries with a long backoff: a cancel taken for a failed attempt would start a second one, late.
    think = StepDraft("think", agent_id, "ponder", max_attempts=3, backoff_seconds=30)
    job = await harness.jobs.create(
        admin, project_id, JobDraft("slow", (think, StepDraft("after", agent_id, "x", ("think",))))
    )
    message_id = await harness.awaiting_reply("ponder")
    started = time.monotonic()
    await harness.jobs.cancel(admin, project_id, job.id)
    done = await harness.finished(admin, project_id, job)
    assert time.monotonic() - started < 10
    assert done.status is JobStatus.CANCELLED
    assert [s.status for s in done.steps] == [StepStatus.CANCELLED, StepStatus.CANCELLED]
    assert len(harness.agents.sent) == 1
    assert harness.agents.cancelled == [message_id]  # the agent's turn is stopped too
    await harness.history(job, "job_cancelled_with_turn")


async def test_a_step_that_gets_no_reply_times_out(
    harness: Harness, admin: Identity, project_id: str, agent_id: str
) -> None:
    harness.agents.answer = lambda message: ReplyState(ReplyStatus.WAITING)
    job = await harness.jobs.create(
        admin, project_id, JobDraft("t", (StepDraft("a", agent_id, "x", timeout_seconds=1),))
    )
    done = await harness.finished(admin, project_id, job)
    assert done.status is JobStatus.FAILED
    assert done.steps[0].error == "timed out waiting for the agent's reply"
    assert harness.agents.cancelled == [harness.agents.sent[0].message_id]  # nobody waits for that turn now


async def test_a_failed_step_stops_its_running_siblings_turns(
    harness: Harness, admin: Identity, project_id: str, agent_id: str
) -> None:
    def answer(message: Sent) -> ReplyState:
        if message.content == "break":
            return ReplyState(ReplyStatus.FAILED, error="the tool refused")
        return ReplyState(ReplyStatus.WAITING)

    harness.agents.answer = answer
    draft = JobDraft(
        "siblings", (StepDraft("slow", agent_id, "ponder"), StepDraft("bad", agent_id, "break", max_attempts=1))
    )
    job = await harness.jobs.create(admin, project_id, draft)
    slow_message = await harness.awaiting_reply("ponder")
    done = await harness.finished(admin, project_id, job)
    assert done.status is JobStatus.FAILED and done.failed_step_id == "bad"
    assert [s.status for s in done.steps] == [StepStatus.CANCELLED, StepStatus.FAILED]
    assert harness.agents.cancelled == [slow_message]
