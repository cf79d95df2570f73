"""The job RPCs of SchedulerService: HTTP schemas <-> protos."""

from __future__ import annotations

from typing import cast

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_gateway.clients.convert import enum_name, enum_number, from_timestamp, from_value, to_value
from agentmesh_gateway.schemas.jobs import JobIn, JobOut, JobStatus, JobStepStatus, RetryOut, StepIn, StepOut
from agentmesh_grpc.well_known import duration_proto, duration_seconds

_JOB = "JOB_STATUS_"
_STEP = "JOB_STEP_STATUS_"


def step_proto(step: StepIn) -> pb.JobStepSpec:
    """A step of POST /jobs (or of a schedule's job) as JobStepSpec."""
    return pb.JobStepSpec(
        id=step.id,
        agent_id=str(step.agent_id),
        input=to_value(step.input),
        depends_on=step.depends_on,
        retry=pb.JobStepRetry(max_attempts=step.retry.max_attempts, backoff=duration_proto(step.retry.backoff_s)),
        timeout=duration_proto(step.timeout_s),
    )


def create_request(project_id: str, job: JobIn) -> pb.CreateJobRequest:
    """POST /jobs as CreateJob."""
    return pb.CreateJobRequest(
        project_id=project_id,
        name=job.name,
        idempotency_key=job.idempotency_key or "",
        steps=[step_proto(step) for step in job.steps],
    )


def retry_out(spec: pb.JobStepSpec) -> RetryOut:
    """A step's retry policy as REST shows it."""
    return RetryOut(max_attempts=spec.retry.max_attempts, backoff_s=duration_seconds(spec.retry.backoff))


def timeout_s(spec: pb.JobStepSpec) -> float:
    """A step's timeout in seconds."""
    return duration_seconds(spec.timeout)


def status_number(status: str | None) -> pb.JobStatus.ValueType:
    """A status filter (unspecified: any)."""
    return enum_number(pb.JobStatus, status, _JOB) if status else pb.JOB_STATUS_UNSPECIFIED


def _step_out(step: pb.JobStep) -> StepOut:
    spec = step.spec
    return StepOut(
        id=spec.id,
        agent_id=spec.agent_id,
        input=from_value(spec.input),
        depends_on=list(spec.depends_on),
        retry=retry_out(spec),
        timeout_s=timeout_s(spec),
        status=cast(JobStepStatus, enum_name(pb.JobStepStatus, step.status, _STEP)),
        attempts=step.attempts,
        output=from_value(step.output),
        error=step.error or None,
        sent_input=from_value(step.sent_input),
        message_id=step.message_id or None,
        started_at=from_timestamp(step.start_time),
        ended_at=from_timestamp(step.end_time),
    )


def job_out(job: pb.Job) -> JobOut:
    """A job as REST shows it."""
    return JobOut(
        id=job.id,
        project_id=job.project_id,
        name=job.name,
        status=cast(JobStatus, enum_name(pb.JobStatus, job.status, _JOB)),
        steps=[_step_out(step) for step in job.steps],
        workflow_id=job.workflow_id,
        temporal_ui_url=job.temporal_ui_url or None,
        error=job.error or None,
        failed_step_id=job.failed_step_id or None,
        idempotency_key=job.idempotency_key or None,
        created_at=from_timestamp(job.create_time),
        updated_at=from_timestamp(job.update_time),
        ended_at=from_timestamp(job.end_time),
    )
