"""Proto <-> domain conversions shared by schedules and jobs: JSON values and job steps.

No decisions, no validation (the domain validates after the scope check).
"""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_grpc.struct_values import value_to_json
from agentmesh_grpc.well_known import duration_proto, duration_seconds
from agentmesh_scheduler.domain.jobs import JobDraft, JobTemplate, StepDraft, StepSpec
from agentmesh_scheduler.domain.models import JsonValue


def payload_to_proto(payload: JsonValue) -> struct_pb2.Value:
    """A JSON value as google.protobuf.Value."""
    value = struct_pb2.Value()
    # ParseDict fills a Value from any JSON value; its stub only admits dicts.
    json_format.ParseDict(payload, value)  # type: ignore[arg-type]
    return value


def _value(value: JsonValue) -> struct_pb2.Value | None:
    return None if value is None else payload_to_proto(value)


def step_from_proto(step: pb.JobStepSpec) -> StepDraft:
    """A step as the client sent it; unset values mean the defaults."""
    retry = step.retry
    return StepDraft(
        id=step.id,
        agent_id=step.agent_id,
        input=value_to_json(step.input) if step.HasField("input") else None,
        depends_on=tuple(step.depends_on),
        max_attempts=retry.max_attempts or None,
        backoff_seconds=duration_seconds(retry.backoff) if retry.HasField("backoff") else None,
        timeout_seconds=duration_seconds(step.timeout) if step.HasField("timeout") else None,
    )


def step_spec_to_proto(spec: StepSpec) -> pb.JobStepSpec:
    """A validated step as the API shows it."""
    return pb.JobStepSpec(
        id=spec.id,
        agent_id=spec.agent_id,
        input=_value(spec.input),
        depends_on=list(spec.depends_on),
        retry=pb.JobStepRetry(max_attempts=spec.max_attempts, backoff=duration_proto(spec.backoff_seconds)),
        timeout=duration_proto(spec.timeout_seconds),
    )


def schedule_job_from_proto(job: pb.ScheduleJob) -> JobDraft:
    """A schedule's job template as the client sent it."""
    return JobDraft(name=job.name, steps=tuple(step_from_proto(step) for step in job.steps))


def schedule_job_to_proto(job: JobTemplate) -> pb.ScheduleJob:
    """A schedule's validated job template."""
    return pb.ScheduleJob(name=job.name, steps=[step_spec_to_proto(step) for step in job.steps])
