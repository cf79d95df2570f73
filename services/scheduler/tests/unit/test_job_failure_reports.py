"""A job that ends failed is reported to the monitor once, concerning its failed step's agent."""

from __future__ import annotations

from agentmesh_core.identity import Identity
from agentmesh_scheduler.adapters.fakes import FakeAgents
from agentmesh_scheduler.adapters.job_fakes import InMemoryJobRepository
from agentmesh_scheduler.domain.failures import Failure
from agentmesh_scheduler.domain.job_runs import JobSteps
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.jobs import JobDraft, JobProgress, JobStatus, StepDraft


async def _job(jobs: Jobs, admin: Identity, project_id: str, agent_id: str):
    return await jobs.create(admin, project_id, JobDraft("nightly", (StepDraft("a", agent_id, "do it"),)))


async def test_a_failed_job_is_reported_once_with_its_steps_agent(
    jobs: Jobs,
    job_repository: InMemoryJobRepository,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    job = await _job(jobs, admin, project_id, agent_id)
    steps = JobSteps(job_repository, agents, reports=agents)
    await steps.record(JobProgress(project_id, job.id, seq=1, status=JobStatus.RUNNING))
    assert agents.failures == {}
    failed = JobProgress(
        project_id, job.id, seq=2, status=JobStatus.FAILED, error="step 'a' failed: boom", failed_step_id="a"
    )
    await steps.record(failed)
    await steps.record(failed)  # the activity retried
    assert list(agents.failures) == [f"job:{job.id}"]
    reported = agents.failures[f"job:{job.id}"]
    assert (reported.what, reported.project_id, reported.agent_id) == (Failure.JOB, project_id, agent_id)
    assert reported.detail == f"job {job.id} failed at step a: step 'a' failed: boom"
    assert reported.subject == ""  # jobs are counted by their agent (a job fails once)


async def test_a_failed_job_whose_agent_is_gone_is_the_projects(
    jobs: Jobs,
    job_repository: InMemoryJobRepository,
    agents: FakeAgents,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    job = await _job(jobs, admin, project_id, agent_id)
    agents.agents[project_id].discard(agent_id)
    steps = JobSteps(job_repository, agents, reports=agents)
    await steps.record(JobProgress(project_id, job.id, seq=2, status=JobStatus.FAILED, error="no agent"))
    reported = agents.failures[f"job:{job.id}"]
    assert reported.agent_id == "" and reported.detail == f"job {job.id} failed: no agent"


async def test_a_gone_job_reports_nothing(job_repository: InMemoryJobRepository, agents: FakeAgents, project_id: str):
    steps = JobSteps(job_repository, agents, reports=agents)
    await steps.record(JobProgress(project_id, "gone", seq=2, status=JobStatus.FAILED, error="x"))
    assert agents.failures == {}
