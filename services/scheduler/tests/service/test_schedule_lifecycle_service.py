"""UpdateSchedule and TriggerSchedule through the generated stub: masks, policy, access, bad input."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2, struct_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import Identity
from agentmesh_grpc.identity import acting_as
from agentmesh_scheduler.adapters.fakes import FakeScheduleEngine


async def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code(), info.value.details() or ""


async def _create(stub: pb_grpc.SchedulerServiceStub, project_id: str, agent_id: str, enabled: bool) -> pb.Schedule:
    request = pb.CreateScheduleRequest(
        project_id=project_id,
        schedule=pb.Schedule(
            agent_id=agent_id,
            spec=pb.ScheduleSpec(interval_seconds=60),
            payload=struct_pb2.Value(string_value="report"),
            enabled=enabled,
            policy=pb.SchedulePolicy(catchup_window=duration_pb2.Duration(seconds=120)),
        ),
    )
    return (await stub.CreateSchedule(request)).schedule


def _update(project_id: str, schedule_id: str, schedule: pb.Schedule, *paths: str) -> pb.UpdateScheduleRequest:
    return pb.UpdateScheduleRequest(
        project_id=project_id,
        schedule_id=schedule_id,
        schedule=schedule,
        update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
    )


async def test_update_enables_changes_trigger_and_policy(
    stub: pb_grpc.SchedulerServiceStub, engine: FakeScheduleEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    with acting_as(admin):
        created = await _create(stub, project_id, agent_id, enabled=False)
        assert created.policy.overlap == pb.OVERLAP_POLICY_SKIP and created.policy.catchup_window.seconds == 120
        change = pb.Schedule(
            spec=pb.ScheduleSpec(cron="0 8 * * *", time_zone="Asia/Tokyo"),
            enabled=True,
            policy=pb.SchedulePolicy(overlap=pb.OVERLAP_POLICY_BUFFER_ALL),
        )
        updated = (
            await stub.UpdateSchedule(_update(project_id, created.id, change, "spec", "enabled", "policy.overlap"))
        ).schedule
    assert updated.spec.cron == "0 8 * * *" and updated.spec.time_zone == "Asia/Tokyo" and updated.enabled
    assert updated.policy.overlap == pb.OVERLAP_POLICY_BUFFER_ALL and updated.policy.catchup_window.seconds == 120
    assert updated.payload.string_value == "report"
    assert engine.paused[created.temporal_schedule_id] == (False, "enabled through agentmesh")


async def test_trigger_runs_now(
    stub: pb_grpc.SchedulerServiceStub, engine: FakeScheduleEngine, admin: Identity, project_id: str, agent_id: str
) -> None:
    with acting_as(admin):
        created = await _create(stub, project_id, agent_id, enabled=True)
        await stub.TriggerSchedule(pb.TriggerScheduleRequest(project_id=project_id, schedule_id=created.id))
    assert engine.triggered == [created.temporal_schedule_id]


async def test_access_and_bad_input(
    stub: pb_grpc.SchedulerServiceStub,
    admin: Identity,
    member: Identity,
    outsider: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    with acting_as(admin):
        created = await _create(stub, project_id, agent_id, enabled=True)
    enable = _update(project_id, created.id, pb.Schedule(enabled=False), "enabled")
    trigger = pb.TriggerScheduleRequest(project_id=project_id, schedule_id=created.id)
    with acting_as(outsider):
        assert (await _code(stub.UpdateSchedule(enable)))[0] == grpc.StatusCode.NOT_FOUND
        assert (await _code(stub.TriggerSchedule(trigger)))[0] == grpc.StatusCode.NOT_FOUND
        bad = _update(project_id, created.id, pb.Schedule(), "name")
        assert (await _code(stub.UpdateSchedule(bad)))[0] == grpc.StatusCode.NOT_FOUND
    with acting_as(member):
        assert (await _code(stub.UpdateSchedule(enable)))[0] == grpc.StatusCode.PERMISSION_DENIED
        assert (await _code(stub.TriggerSchedule(trigger)))[0] == grpc.StatusCode.PERMISSION_DENIED
    bad_requests = {
        "update_mask": _update(project_id, created.id, pb.Schedule(), "name"),
        "exactly one": _update(project_id, created.id, pb.Schedule(), "spec.cron"),
        "payload is required": _update(project_id, created.id, pb.Schedule(), "payload"),
        "cron must have 5 fields": _update(
            project_id, created.id, pb.Schedule(spec=pb.ScheduleSpec(cron="nope")), "spec"
        ),
        "catchup_window_seconds": _update(
            project_id,
            created.id,
            pb.Schedule(policy=pb.SchedulePolicy(catchup_window=duration_pb2.Duration(seconds=1))),
            "policy.catchup_window",
        ),
    }
    with acting_as(admin):
        for message, request in bad_requests.items():
            code, details = await _code(stub.UpdateSchedule(request))
            assert code == grpc.StatusCode.INVALID_ARGUMENT and message in details, (message, details)
        missing = pb.TriggerScheduleRequest(project_id=project_id, schedule_id=project_id)
        assert (await _code(stub.TriggerSchedule(missing)))[0] == grpc.StatusCode.NOT_FOUND
