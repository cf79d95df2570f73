"""The schedule PATCH as UpdateSchedule (the mask names the given fields only) and the schedule's body."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import duration_pb2, timestamp_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_gateway.clients.scheduler import schedule_out, update_request
from agentmesh_gateway.schemas.schedules import SchedulePatch

STAMP = timestamp_pb2.Timestamp(seconds=1_800_000_000)


def test_the_mask_names_only_the_given_fields() -> None:
    request = update_request("p", "s", SchedulePatch.model_validate({"enabled": False, "cron": "0 9 * * *"}))
    assert list(request.update_mask.paths) == ["enabled", "spec.cron"]
    assert request.schedule.spec.cron == "0 9 * * *" and request.schedule.enabled is False
    assert not request.schedule.HasField("payload")


def test_payload_timezone_and_policy() -> None:
    patch = SchedulePatch.model_validate(
        {"payload": {"a": 1}, "timezone": "Asia/Tokyo", "overlap_policy": "allow_all", "catchup_window_seconds": 60}
    )
    request = update_request("p", "s", patch)
    assert list(request.update_mask.paths) == ["payload", "policy.catchup_window", "policy.overlap", "spec.time_zone"]
    assert request.schedule.payload.struct_value["a"] == 1
    assert request.schedule.policy.overlap == pb.OVERLAP_POLICY_ALLOW_ALL
    assert request.schedule.policy.catchup_window.seconds == 60 and request.schedule.spec.time_zone == "Asia/Tokyo"


def test_schedule_body_shows_policy_next_and_recent_runs() -> None:
    message = pb.Schedule(
        id="s",
        spec=pb.ScheduleSpec(interval_seconds=60),
        policy=pb.SchedulePolicy(
            overlap=pb.OVERLAP_POLICY_BUFFER_ALL, catchup_window=duration_pb2.Duration(seconds=90)
        ),
        next_run_times=[STAMP],
        recent_runs=[pb.ScheduleRun(run_time=STAMP, outcome="sent message m")],
    )
    out = schedule_out(message)
    moment = datetime.fromtimestamp(1_800_000_000, UTC)
    assert (out.overlap_policy, out.catchup_window_seconds, out.next_runs) == ("buffer_all", 90, [moment])
    assert [(r.ran_at, r.outcome) for r in out.recent_runs] == [(moment, "sent message m")]
    assert schedule_out(pb.Schedule(id="s")).overlap_policy == "skip"
