"""JobEngine on Temporal: one JobWorkflow per job, id `project-<p>-job-<j>`.

The workflow id is the job's and may never be reused, so a second start of the
same job, even after it finished, is refused by Temporal (and treated as
done); the start carries the job's search attributes,
a memo and a summary line for the Temporal UI.
"""

from __future__ import annotations

import json
import logging

from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from agentmesh_core.errors import Unavailable
from agentmesh_scheduler.adapters.temporal_link import TemporalEngine
from agentmesh_scheduler.domain.jobs import Job
from agentmesh_scheduler.workflows import JobInput, JobStepInput, JobWorkflow

log = logging.getLogger(__name__)


def job_input(job: Job) -> JobInput:
    """What the job's workflow receives."""
    return JobInput(
        project_id=job.project_id,
        job_id=job.id,
        name=job.name,
        steps=[
            JobStepInput(
                id=state.spec.id,
                agent_id=state.spec.agent_id,
                input_json=json.dumps(state.spec.input, ensure_ascii=False),
                depends_on=list(state.spec.depends_on),
                max_attempts=state.spec.max_attempts,
                backoff_seconds=state.spec.backoff_seconds,
                timeout_seconds=state.spec.timeout_seconds,
            )
            for state in job.steps
        ],
    )


class TemporalJobEngine(TemporalEngine):
    """Starts and cancels job workflows on one task queue (Unavailable while Temporal is not reachable)."""

    async def start(self, job: Job) -> None:
        """Start the job's workflow; already started is fine."""
        agents = sorted({state.spec.agent_id for state in job.steps})
        try:
            await self._client.start_workflow(
                JobWorkflow.run,
                job_input(job),
                id=job.workflow_id,
                # A job runs once: a start repeated after its workflow closed must not run it again.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                task_queue=self._task_queue,
                memo={"project_id": job.project_id, "job_id": job.id, "job_name": job.name, "agent_ids": agents},
                search_attributes=self._search.of(job.project_id, agents, job.id),
                static_summary=f"job {job.name!r} ({job.id}): {len(job.steps)} steps, agents {', '.join(agents)}"[:400],
                rpc_timeout=self._timeout,
            )
        except WorkflowAlreadyStartedError:
            log.info("job %s was already started", job.id)
        except RPCError as error:
            self._link.failed(error)
            log.warning("could not start job %s: %s %s", job.id, error.status.name, error.message)
            raise Unavailable("temporal unavailable") from None
        log.info("started job %s as workflow %s", job.id, job.workflow_id)

    async def cancel(self, workflow_id: str) -> bool:
        """Request cancellation; False when the workflow is not running."""
        try:
            await self._client.get_workflow_handle(workflow_id).cancel(rpc_timeout=self._timeout)
        except RPCError as error:
            if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return False
            self._link.failed(error)
            log.warning("could not cancel %s: %s %s", workflow_id, error.status.name, error.message)
            raise Unavailable("temporal unavailable") from None
        return True
