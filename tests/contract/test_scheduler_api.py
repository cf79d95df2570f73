"""The gateway's schedule and job enums and bounds are the scheduler's (their owners)."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_gateway.schemas import jobs as job_schemas
from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas import schedules as schedule_schemas
from agentmesh_scheduler.domain import job_plan, policy
from agentmesh_scheduler.domain.jobs import JobStatus, StepStatus
from agentmesh_scheduler.domain.models import DEFAULT_CATCHUP_WINDOW_SECONDS, OverlapPolicy


def _proto(enum_type: Any, prefix: str) -> set[str]:
    return {name.removeprefix(prefix).lower() for name in enum_type.keys()} - {"unspecified"}


@pytest.mark.parametrize(
    ("literal", "proto", "domain"),
    [
        (schedule_schemas.OverlapPolicy, _proto(pb.OverlapPolicy, "OVERLAP_POLICY_"), OverlapPolicy),
        (job_schemas.JobStatus, _proto(pb.JobStatus, "JOB_STATUS_"), JobStatus),
        (job_schemas.JobStepStatus, _proto(pb.JobStepStatus, "JOB_STEP_STATUS_"), StepStatus),
    ],
    ids=["OverlapPolicy", "JobStatus", "JobStepStatus"],
)
def test_enums_agree(literal: Any, proto: set[str], domain: Any) -> None:
    assert set(get_args(literal)) == proto == {member.value for member in domain}


def test_bounds_and_defaults_agree() -> None:
    assert (limits.CATCHUP_WINDOW_SECONDS_MIN, limits.CATCHUP_WINDOW_SECONDS_MAX) == (
        policy.MIN_CATCHUP_WINDOW_SECONDS,
        policy.MAX_CATCHUP_WINDOW_SECONDS,
    )
    assert limits.CATCHUP_WINDOW_SECONDS_DEFAULT == DEFAULT_CATCHUP_WINDOW_SECONDS
    assert limits.JOB_STEPS_MAX == job_plan.MAX_STEPS
    assert limits.JOB_NAME_MAX_LENGTH == job_plan.NAME_MAX_LENGTH
    assert limits.JOB_STEP_ID_PATTERN == job_plan.STEP_ID_PATTERN
    assert limits.JOB_MAX_ATTEMPTS_MAX == job_plan.MAX_ATTEMPTS_MAX
    assert limits.JOB_BACKOFF_SECONDS_MAX == job_plan.BACKOFF_SECONDS_MAX
    assert (limits.JOB_TIMEOUT_SECONDS_MIN, limits.JOB_TIMEOUT_SECONDS_MAX) == (
        job_plan.TIMEOUT_SECONDS_MIN,
        job_plan.TIMEOUT_SECONDS_MAX,
    )
    assert (
        limits.JOB_DEFAULT_MAX_ATTEMPTS,
        limits.JOB_DEFAULT_BACKOFF_SECONDS,
        limits.JOB_DEFAULT_TIMEOUT_SECONDS,
    ) == (
        job_plan.DEFAULT_MAX_ATTEMPTS,
        job_plan.DEFAULT_BACKOFF_SECONDS,
        job_plan.DEFAULT_TIMEOUT_SECONDS,
    )
    assert limits.IDEMPOTENCY_KEY_MAX_LENGTH == job_plan.IDEMPOTENCY_KEY_MAX_LENGTH
