"""Job-target schedules through the generated stub: create, read, update, access, bad input."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_grpc.identity import acting_as


def _job(agent_id: str, *, first_id: str = "a") -> pb.ScheduleJob:
    return pb.ScheduleJob(
        name="digest",
        steps=[
            pb.JobStepSpec(id=first_id, agent_id=agent_id, input=struct_pb2.Value(string_value="gather")),
            pb.JobStepSpec(
                id="b",
                agent_id=agent_id,
                input=struct_pb2.Value(string_value="sum {{steps.a.output}}"),
                depends_on=["a"],
            ),
        ],
    )


def _request(project_id: str, **schedule: object) -> pb.CreateScheduleRequest:
    spec = pb.ScheduleSpec(interval_seconds=60)
    return pb.CreateScheduleRequest(project_id=project_id, schedule=pb.Schedule(spec=spec, enabled=True, **schedule))  # type: ignore[arg-type]


async def _refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code(), info.value.details() or ""


async def test_create_get_and_update_a_job_schedule(
    stub: pb_grpc.SchedulerServiceStub, admin: Identity, member: Identity, outsider: Identity, project_id: str,
    agent_id: str,
) -> None:  # fmt: skip
    with acting_as(admin):
        created = (await stub.CreateSchedule(_request(project_id, job=_job(agent_id)))).schedule
    assert created.agent_id == "" and not created.HasField("payload")
    assert created.job.name == "digest" and [s.id for s in created.job.steps] == ["a", "b"]
    with acting_as(member):
        got = (await stub.GetSchedule(pb.GetScheduleRequest(project_id=project_id, schedule_id=created.id))).schedule
    assert got.job == created.job
    with acting_as(outsider):
        code, _ = await _refused(stub.GetSchedule(pb.GetScheduleRequest(project_id=project_id, schedule_id=created.id)))
    assert code == grpc.StatusCode.NOT_FOUND

    renamed = pb.ScheduleJob(
        name="short", steps=[pb.JobStepSpec(id="only", agent_id=agent_id, input=struct_pb2.Value(string_value="x"))]
    )
    update = pb.UpdateScheduleRequest(
        project_id=project_id, schedule_id=created.id, schedule=pb.Schedule(job=renamed),
        update_mask=field_mask_pb2.FieldMask(paths=["job"]),
    )  # fmt: skip
    with acting_as(member):
        code, _ = await _refused(stub.UpdateSchedule(update))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(admin):
        updated = (await stub.UpdateSchedule(update)).schedule
    assert updated.job.name == "short" and [s.id for s in updated.job.steps] == ["only"]


async def test_both_neither_or_a_bad_template_is_invalid_argument(
    stub: pb_grpc.SchedulerServiceStub, admin: Identity, project_id: str, agent_id: str
) -> None:
    foreign = new_id()
    cases = [
        (
            _request(project_id, agent_id=agent_id, payload=struct_pb2.Value(string_value="x"), job=_job(agent_id)),
            "not both",
        ),
        (_request(project_id), "needs a target"),
        (_request(project_id, job=_job(agent_id, first_id="b")), "step 'b': duplicate step id"),
        (_request(project_id, job=_job(foreign, first_id="a")), f"step 'a': agent {foreign} not found in this project"),
    ]
    with acting_as(admin):
        for request, message in cases:
            code, details = await _refused(stub.CreateSchedule(request))
            assert (code, message in details) == (grpc.StatusCode.INVALID_ARGUMENT, True), details
