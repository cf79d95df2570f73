"""Jobs on the wire: the REST body as CreateJob, and a Job as REST shows it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_gateway.clients.jobs import create_request, job_out, status_number
from agentmesh_gateway.schemas.jobs import JobIn

AGENT = str(uuid.uuid4())


def test_the_body_as_create_job() -> None:
    body = JobIn.model_validate(
        {
            "name": "r",
            "idempotency_key": "k",
            "steps": [
                {"id": "a", "agent_id": AGENT, "input": {"q": 1}},
                {
                    "id": "b",
                    "agent_id": AGENT,
                    "input": "{{steps.a.output}}",
                    "depends_on": ["a"],
                    "retry": {"max_attempts": 4, "backoff_s": 1.5},
                    "timeout_s": 30,
                },
            ],
        }
    )
    request = create_request("p", body)
    a, b = request.steps
    assert (request.project_id, request.name, request.idempotency_key) == ("p", "r", "k")
    assert a.input.struct_value["q"] == 1 and a.retry.max_attempts == 1 and a.timeout.seconds == 600
    assert list(b.depends_on) == ["a"] and b.retry.max_attempts == 4
    assert (b.retry.backoff.seconds, b.retry.backoff.nanos, b.timeout.seconds) == (1, 500_000_000, 30)
    assert status_number(None) == pb.JOB_STATUS_UNSPECIFIED and status_number("failed") == pb.JOB_STATUS_FAILED


def test_a_job_as_rest_shows_it() -> None:
    stamp = timestamp_pb2.Timestamp(seconds=1_800_000_000)
    step = pb.JobStep(
        spec=pb.JobStepSpec(
            id="a",
            agent_id=AGENT,
            input=struct_pb2.Value(string_value="go"),
            retry=pb.JobStepRetry(max_attempts=2, backoff=duration_pb2.Duration(seconds=5)),
            timeout=duration_pb2.Duration(seconds=60),
        ),
        status=pb.JOB_STEP_STATUS_FAILED,
        attempts=2,
        error="the agent failed: boom",
        sent_input=struct_pb2.Value(string_value="go"),
        message_id="m2",
        start_time=stamp,
    )
    job = pb.Job(id="j", project_id="p", name="r", status=pb.JOB_STATUS_FAILED, steps=[step], workflow_id="w",
                 failed_step_id="a", error="step 'a' failed: the agent failed: boom", create_time=stamp)  # fmt: skip
    out = job_out(job)
    assert (out.status, out.failed_step_id, out.temporal_ui_url, out.ended_at) == ("failed", "a", None, None)
    (shown,) = out.steps
    assert (shown.status, shown.attempts, shown.error, shown.output) == ("failed", 2, "the agent failed: boom", None)
    assert shown.retry.model_dump() == {"max_attempts": 2, "backoff_s": 5.0} and shown.timeout_s == 60
    assert shown.started_at == datetime.fromtimestamp(1_800_000_000, UTC) and shown.message_id == "m2"
