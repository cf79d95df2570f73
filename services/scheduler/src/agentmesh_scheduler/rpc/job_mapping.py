"""Proto <-> domain conversions for the job RPCs (no decisions, no validation).

As for schedules, nothing here raises: the domain validates after the scope check.
"""

from __future__ import annotations

from google.protobuf import struct_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_grpc.well_known import timestamp_proto
from agentmesh_scheduler.domain.jobs import Job, JobDraft, JobStatus, StepState, StepStatus
from agentmesh_scheduler.rpc.step_mapping import payload_to_proto, step_from_proto, step_spec_to_proto

_JOB_STATUS = {
    JobStatus.PENDING: pb.JOB_STATUS_PENDING,
    JobStatus.RUNNING: pb.JOB_STATUS_RUNNING,
    JobStatus.COMPLETED: pb.JOB_STATUS_COMPLETED,
    JobStatus.FAILED: pb.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: pb.JOB_STATUS_CANCELLED,
}
_JOB_STATUS_FROM_PROTO = {int(number): status for status, number in _JOB_STATUS.items()}
_STEP_STATUS = {
    StepStatus.PENDING: pb.JOB_STEP_STATUS_PENDING,
    StepStatus.RUNNING: pb.JOB_STEP_STATUS_RUNNING,
    StepStatus.COMPLETED: pb.JOB_STEP_STATUS_COMPLETED,
    StepStatus.FAILED: pb.JOB_STEP_STATUS_FAILED,
    StepStatus.CANCELLED: pb.JOB_STEP_STATUS_CANCELLED,
    StepStatus.SKIPPED: pb.JOB_STEP_STATUS_SKIPPED,
}


def _value(value: object) -> struct_pb2.Value | None:
    return None if value is None else payload_to_proto(value)  # type: ignore[arg-type]


def status_from_proto(number: int) -> JobStatus | None:
    """A status filter; None for unspecified (any status)."""
    return _JOB_STATUS_FROM_PROTO.get(number)


def draft_from_request(request: pb.CreateJobRequest) -> JobDraft:
    """A CreateJob request as the domain reads it (not yet validated)."""
    return JobDraft(
        name=request.name,
        steps=tuple(step_from_proto(step) for step in request.steps),
        idempotency_key=request.idempotency_key,
    )


def _step_to_proto(state: StepState) -> pb.JobStep:
    return pb.JobStep(
        spec=step_spec_to_proto(state.spec),
        status=_STEP_STATUS[state.status],
        attempts=state.attempts,
        output=_value(state.output),
        error=state.error or "",
        sent_input=_value(state.sent_input),
        message_id=state.message_id or "",
        start_time=timestamp_proto(state.started_at),
        end_time=timestamp_proto(state.ended_at),
    )


def job_to_proto(job: Job) -> pb.Job:
    """A domain job as the API shows it."""
    return pb.Job(
        id=job.id,
        project_id=job.project_id,
        name=job.name,
        status=_JOB_STATUS[job.status],
        steps=[_step_to_proto(state) for state in job.steps],
        workflow_id=job.workflow_id,
        temporal_ui_url=job.temporal_ui_url,
        error=job.error or "",
        failed_step_id=job.failed_step_id or "",
        idempotency_key=job.idempotency_key,
        create_time=timestamp_proto(job.created_at),
        update_time=timestamp_proto(job.updated_at),
        end_time=timestamp_proto(job.ended_at),
    )
