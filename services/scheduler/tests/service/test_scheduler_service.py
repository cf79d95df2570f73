"""SchedulerService through the generated stub: happy paths, access and bad input."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import json_format, struct_pb2, timestamp_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_core.errors import Unavailable
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_devstack.grpc_testing import stranger_signer
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_scheduler.adapters.fakes import FakeScheduleEngine, InMemoryScheduleRepository


def _payload(obj: object) -> struct_pb2.Value:
    value = struct_pb2.Value()
    json_format.ParseDict(obj, value)
    return value


def _request(project_id: str, agent_id: str, **spec: object) -> pb.CreateScheduleRequest:
    return pb.CreateScheduleRequest(
        project_id=project_id,
        schedule=pb.Schedule(
            agent_id=agent_id,
            spec=pb.ScheduleSpec(**(spec or {"interval_seconds": 60})),
            payload=_payload({"task": "daily report"}),
            enabled=True,
        ),
    )


async def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code()


async def test_create_get_list_delete(
    stub: pb_grpc.SchedulerServiceStub,
    engine: FakeScheduleEngine,
    admin: Identity,
    member: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    with acting_as(admin):
        created = (
            await stub.CreateSchedule(_request(project_id, agent_id, cron="0 9 * * mon-fri", time_zone="Europe/Berlin"))
        ).schedule
    assert created.temporal_schedule_id == f"project-{project_id}-schedule-{created.id}"
    assert created.spec.cron == "0 9 * * mon-fri" and created.spec.time_zone == "Europe/Berlin"
    assert json_format.MessageToDict(created.payload) == {"task": "daily report"}
    assert created.HasField("next_run_time") and created.HasField("create_time")
    next_run = datetime.now(UTC) + timedelta(hours=3)
    engine.next_runs[created.temporal_schedule_id] = next_run.replace(microsecond=0)

    with acting_as(member):
        got = (await stub.GetSchedule(pb.GetScheduleRequest(project_id=project_id, schedule_id=created.id))).schedule
        listed = await stub.ListSchedules(pb.ListSchedulesRequest(project_id=project_id))
    assert got.id == created.id
    assert got.next_run_time.ToDatetime(tzinfo=UTC) == next_run.replace(microsecond=0)
    assert [s.id for s in listed.schedules] == [created.id] and listed.next_page_token == ""

    with acting_as(admin):
        await stub.DeleteSchedule(pb.DeleteScheduleRequest(project_id=project_id, schedule_id=created.id))
        code = await _code(stub.GetSchedule(pb.GetScheduleRequest(project_id=project_id, schedule_id=created.id)))
    assert code == grpc.StatusCode.NOT_FOUND
    assert engine.schedules == {}


async def test_delete_project_schedules(
    stub: pb_grpc.SchedulerServiceStub, service_identity: Identity, project_id: str, agent_id: str
) -> None:
    with acting_as(service_identity):
        for _ in range(2):
            await stub.CreateSchedule(_request(project_id, agent_id))
        response = await stub.DeleteProjectSchedules(pb.DeleteProjectSchedulesRequest(project_id=project_id))
    assert response.removed == 2


async def test_non_member_gets_not_found_everywhere(
    stub: pb_grpc.SchedulerServiceStub, admin: Identity, outsider: Identity, project_id: str, agent_id: str
) -> None:
    with acting_as(admin):
        created = (await stub.CreateSchedule(_request(project_id, agent_id))).schedule
    calls = [
        lambda: stub.CreateSchedule(_request(project_id, agent_id)),
        lambda: stub.CreateSchedule(pb.CreateScheduleRequest(project_id=project_id)),
        lambda: stub.GetSchedule(pb.GetScheduleRequest(project_id=project_id, schedule_id=created.id)),
        lambda: stub.ListSchedules(pb.ListSchedulesRequest(project_id=project_id)),
        lambda: stub.DeleteSchedule(pb.DeleteScheduleRequest(project_id=project_id, schedule_id=created.id)),
        lambda: stub.DeleteProjectSchedules(pb.DeleteProjectSchedulesRequest(project_id=project_id)),
    ]
    with acting_as(outsider):
        for call in calls:
            assert await _code(call()) == grpc.StatusCode.NOT_FOUND


async def test_project_user_cannot_write(
    stub: pb_grpc.SchedulerServiceStub,
    repository: InMemoryScheduleRepository,
    admin: Identity,
    member: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    with acting_as(admin):
        created = (await stub.CreateSchedule(_request(project_id, agent_id))).schedule
    with acting_as(member):
        assert await _code(stub.CreateSchedule(_request(project_id, agent_id))) == grpc.StatusCode.PERMISSION_DENIED
        delete = pb.DeleteScheduleRequest(project_id=project_id, schedule_id=created.id)
        assert await _code(stub.DeleteSchedule(delete)) == grpc.StatusCode.PERMISSION_DENIED
        purge = pb.DeleteProjectSchedulesRequest(project_id=project_id)
        assert await _code(stub.DeleteProjectSchedules(purge)) == grpc.StatusCode.PERMISSION_DENIED
    assert list(repository.rows) == [created.id]


async def test_call_without_identity_is_unauthenticated(stub: pb_grpc.SchedulerServiceStub, project_id: str) -> None:
    code = await _code(stub.ListSchedules(pb.ListSchedulesRequest(project_id=project_id)))
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_forged_identity_is_unauthenticated(address: str, admin: Identity, project_id: str) -> None:
    channel = create_channel(address, stranger_signer())
    try:
        with acting_as(admin):
            call = pb_grpc.SchedulerServiceStub(channel).ListSchedules(pb.ListSchedulesRequest(project_id=project_id))
            assert await _code(call) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await channel.close()


def _past() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(UTC) - timedelta(minutes=5))
    return stamp


@pytest.mark.parametrize(
    "spec",
    [
        {"cron": "61 * * * *"},
        {"cron": "every day"},
        {"cron": "0 0 30 2 *"},
        {"interval_seconds": 0},
        {"interval_seconds": -5},
        {"interval_seconds": 10**12},
        {"time_zone": "UTC"},
        {"cron": "0 9 * * *", "time_zone": "Atlantis/Capital"},
    ],
)
async def test_bad_trigger_is_invalid_argument(
    stub: pb_grpc.SchedulerServiceStub, admin: Identity, project_id: str, agent_id: str, spec: dict
) -> None:
    with acting_as(admin):
        assert await _code(stub.CreateSchedule(_request(project_id, agent_id, **spec))) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )


async def test_other_bad_input_is_invalid_argument(
    stub: pb_grpc.SchedulerServiceStub,
    repository: InMemoryScheduleRepository,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    past = _request(project_id, agent_id)
    past.schedule.spec.run_at.CopyFrom(_past())
    no_payload = _request(project_id, agent_id)
    no_payload.schedule.ClearField("payload")
    huge_payload = _request(project_id, agent_id)
    huge_payload.schedule.payload.CopyFrom(_payload("x" * 40_000))
    requests = [
        (stub.CreateSchedule, past),
        (stub.CreateSchedule, no_payload),
        (stub.CreateSchedule, huge_payload),
        (stub.CreateSchedule, pb.CreateScheduleRequest(project_id=project_id)),
        (stub.CreateSchedule, _request(project_id, "agent-7")),
        (stub.CreateSchedule, _request("not-a-project", agent_id)),
        (stub.GetSchedule, pb.GetScheduleRequest(project_id=project_id, schedule_id="../etc")),
        (stub.ListSchedules, pb.ListSchedulesRequest(project_id=project_id, page_size=-1)),
        (stub.ListSchedules, pb.ListSchedulesRequest(project_id=project_id, page_token="%%%")),
        (stub.DeleteSchedule, pb.DeleteScheduleRequest(project_id=project_id, schedule_id="")),
    ]
    with acting_as(admin):
        for index, (method, request) in enumerate(requests):
            assert await _code(method(request)) == grpc.StatusCode.INVALID_ARGUMENT, index
    assert repository.rows == {}


async def test_unknown_agent_is_not_found(stub: pb_grpc.SchedulerServiceStub, admin: Identity, project_id: str) -> None:
    with acting_as(admin), pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateSchedule(_request(project_id, new_id()))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "agent not found"


async def test_temporal_down_is_unavailable_and_leaves_nothing(
    stub: pb_grpc.SchedulerServiceStub,
    engine: FakeScheduleEngine,
    repository: InMemoryScheduleRepository,
    admin: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    engine.fail_with = Unavailable("temporal unavailable")
    with acting_as(admin):
        assert await _code(stub.CreateSchedule(_request(project_id, agent_id))) == grpc.StatusCode.UNAVAILABLE
    assert repository.rows == {}


async def test_list_cursors_are_tamper_evident(
    stub: pb_grpc.SchedulerServiceStub, admin: Identity, project_id: str, agent_id: str
) -> None:
    with acting_as(admin):
        for _ in range(2):
            await stub.CreateSchedule(_request(project_id, agent_id))
        token = (await stub.ListSchedules(pb.ListSchedulesRequest(project_id=project_id, page_size=1))).next_page_token
        rest = await stub.ListSchedules(pb.ListSchedulesRequest(project_id=project_id, page_size=1, page_token=token))
        assert token and len(rest.schedules) == 1
        offset_cursor = base64.urlsafe_b64encode(b"o:1").decode()
        for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), offset_cursor):
            request = pb.ListSchedulesRequest(project_id=project_id, page_token=bad)
            assert await _code(stub.ListSchedules(request)) == grpc.StatusCode.INVALID_ARGUMENT
