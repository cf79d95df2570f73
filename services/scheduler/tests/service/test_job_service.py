"""The job RPCs through the generated stub: shapes, access, bad input naming the step."""

from __future__ import annotations

import base64

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_grpc.identity import acting_as
from agentmesh_scheduler.adapters.job_fakes import FakeJobEngine


def _create(project_id: str, agent_id: str, **changes: object) -> pb.CreateJobRequest:
    steps = [
        pb.JobStepSpec(id="a", agent_id=agent_id, input=struct_pb2.Value(string_value="gather")),
        pb.JobStepSpec(
            id="b",
            agent_id=agent_id,
            input=struct_pb2.Value(string_value="sum up {{steps.a.output}}"),
            depends_on=["a"],
            retry=pb.JobStepRetry(max_attempts=3, backoff=duration_pb2.Duration(seconds=2)),
            timeout=duration_pb2.Duration(seconds=90),
        ),
    ]
    values: dict[str, object] = {"project_id": project_id, "name": "report", "steps": steps}
    values.update(changes)
    return pb.CreateJobRequest(**values)  # type: ignore[arg-type]


async def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code(), info.value.details() or ""


async def test_create_get_list_cancel(
    stub: pb_grpc.SchedulerServiceStub,
    job_engine: FakeJobEngine,
    admin: Identity,
    member: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    with acting_as(admin):
        job = (await stub.CreateJob(_create(project_id, agent_id, idempotency_key="k1"))).job
        again = (await stub.CreateJob(_create(project_id, agent_id, idempotency_key="k1"))).job
    assert again.id == job.id and job.workflow_id == f"project-{project_id}-job-{job.id}"
    assert job.status == pb.JOB_STATUS_PENDING and job.temporal_ui_url.endswith(job.workflow_id)
    b = job.steps[1]
    assert (b.spec.id, list(b.spec.depends_on), b.spec.retry.max_attempts) == ("b", ["a"], 3)
    assert (b.spec.retry.backoff.seconds, b.spec.timeout.seconds, b.status) == (2, 90, pb.JOB_STEP_STATUS_PENDING)
    assert job.steps[0].spec.retry.max_attempts == 1 and job.steps[0].spec.timeout.seconds == 600
    with acting_as(member):
        got = (await stub.GetJob(pb.GetJobRequest(project_id=project_id, job_id=job.id))).job
        listed = await stub.ListJobs(pb.ListJobsRequest(project_id=project_id))
        filtered = await stub.ListJobs(pb.ListJobsRequest(project_id=project_id, status=pb.JOB_STATUS_COMPLETED))
        code, _ = await _code(stub.CancelJob(pb.CancelJobRequest(project_id=project_id, job_id=job.id)))
    assert got == job and [j.id for j in listed.jobs] == [job.id] and list(filtered.jobs) == []
    assert code == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(admin):
        await stub.CancelJob(pb.CancelJobRequest(project_id=project_id, job_id=job.id))
    assert job_engine.cancelled == [job.workflow_id]


async def test_outsiders_see_nothing(
    stub: pb_grpc.SchedulerServiceStub, admin: Identity, outsider: Identity, project_id: str, agent_id: str
) -> None:
    with acting_as(admin):
        job = (await stub.CreateJob(_create(project_id, agent_id))).job
    with acting_as(outsider):
        for call in (
            stub.CreateJob(_create(project_id, agent_id, steps=[])),
            stub.GetJob(pb.GetJobRequest(project_id=project_id, job_id=job.id)),
            stub.ListJobs(pb.ListJobsRequest(project_id=project_id)),
            stub.CancelJob(pb.CancelJobRequest(project_id=project_id, job_id=job.id)),
        ):
            assert (await _code(call))[0] == grpc.StatusCode.NOT_FOUND


async def test_bad_jobs_are_invalid_and_name_the_step(
    stub: pb_grpc.SchedulerServiceStub, admin: Identity, project_id: str, agent_id: str
) -> None:
    unknown = new_id()
    cycle = [
        pb.JobStepSpec(id="a", agent_id=agent_id, input=struct_pb2.Value(string_value="x"), depends_on=["b"]),
        pb.JobStepSpec(id="b", agent_id=agent_id, input=struct_pb2.Value(string_value="y"), depends_on=["a"]),
    ]
    cases = {
        "step 'a': dependency cycle": _create(project_id, agent_id, steps=cycle),
        f"step 'b': agent {unknown} not found": _create(
            project_id, agent_id, steps=[*cycle[:1], pb.JobStepSpec(id="b", agent_id=unknown, input=cycle[0].input)]
        ),
        "at least one step": _create(project_id, agent_id, steps=[]),
        "step 'a': input is required": _create(project_id, agent_id, steps=[pb.JobStepSpec(id="a", agent_id=agent_id)]),
    }
    with acting_as(admin):
        for message, request in cases.items():
            code, details = await _code(stub.CreateJob(request))
            assert code == grpc.StatusCode.INVALID_ARGUMENT and message in details, (message, details)
        assert (await _code(stub.GetJob(pb.GetJobRequest(project_id=project_id, job_id="nope"))))[0] == (
            grpc.StatusCode.INVALID_ARGUMENT
        )


def _offset_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


async def test_list_cursors_are_tamper_evident(
    stub: pb_grpc.SchedulerServiceStub, admin: Identity, project_id: str, agent_id: str
) -> None:
    with acting_as(admin):
        for _ in range(2):
            await stub.CreateJob(_create(project_id, agent_id))
        token = (await stub.ListJobs(pb.ListJobsRequest(project_id=project_id, page_size=1))).next_page_token
        rest = await stub.ListJobs(pb.ListJobsRequest(project_id=project_id, page_size=1, page_token=token))
        assert token and len(rest.jobs) == 1
        for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), _offset_cursor(1)):
            code, details = await _code(stub.ListJobs(pb.ListJobsRequest(project_id=project_id, page_token=bad)))
            assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid cursor")
