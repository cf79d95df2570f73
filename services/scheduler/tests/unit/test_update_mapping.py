"""UpdateSchedule's field mask and the schedule's policy, runs and next runs on the wire."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import duration_pb2, field_mask_pb2, struct_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_core.ids import new_id
from agentmesh_scheduler.domain.models import (
    DEFAULT_CATCHUP_WINDOW_SECONDS,
    CronTrigger,
    IntervalTrigger,
    OverlapPolicy,
    Schedule,
    SchedulePatch,
    ScheduleRun,
)
from agentmesh_scheduler.rpc.mapping import patch_from_request, schedule_to_proto

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _request(schedule: pb.Schedule, *paths: str) -> pb.UpdateScheduleRequest:
    return pb.UpdateScheduleRequest(schedule=schedule, update_mask=field_mask_pb2.FieldMask(paths=list(paths)))


def test_only_masked_fields_are_read() -> None:
    schedule = pb.Schedule(
        spec=pb.ScheduleSpec(cron="0 9 * * *", time_zone="Europe/Paris"),
        payload=struct_pb2.Value(string_value="new"),
        enabled=True,
        policy=pb.SchedulePolicy(overlap=pb.OVERLAP_POLICY_ALLOW_ALL, catchup_window=duration_pb2.Duration(seconds=30)),
    )
    assert patch_from_request(_request(schedule, "enabled")) == SchedulePatch(enabled=True)
    assert patch_from_request(_request(schedule, "spec")) == SchedulePatch(
        trigger=CronTrigger("0 9 * * *"), time_zone="Europe/Paris"
    )
    assert patch_from_request(_request(schedule, "spec.time_zone", "payload")) == SchedulePatch(
        time_zone="Europe/Paris", payload="new"
    )
    assert patch_from_request(_request(schedule, "policy")) == SchedulePatch(
        overlap=OverlapPolicy.ALLOW_ALL, catchup_window_seconds=30
    )
    assert patch_from_request(_request(schedule)).is_empty()


def test_unset_policy_values_mean_the_defaults() -> None:
    patch = patch_from_request(_request(pb.Schedule(), "policy.overlap", "policy.catchup_window"))
    assert patch == SchedulePatch(overlap=OverlapPolicy.SKIP, catchup_window_seconds=DEFAULT_CATCHUP_WINDOW_SECONDS)


def test_problems_are_collected_not_raised() -> None:
    patch = patch_from_request(_request(pb.Schedule(), "name", "spec.cron", "payload"))
    assert patch.problems == (
        "unknown update_mask path 'name'",
        "exactly one of cron, interval_seconds or run_at is required",
        "payload is required",
    )


def test_policy_runs_and_next_runs_on_the_wire() -> None:
    schedule = Schedule(
        id=new_id(),
        project_id=new_id(),
        agent_id=new_id(),
        trigger=IntervalTrigger(60),
        time_zone="UTC",
        payload="x",
        enabled=True,
        temporal_schedule_id="t",
        created_at=NOW,
        overlap=OverlapPolicy.BUFFER_ALL,
        catchup_window_seconds=120,
        next_runs=(NOW, NOW.replace(minute=1)),
        recent_runs=(ScheduleRun(NOW, "sent message m"),),
    )
    message = schedule_to_proto(schedule)
    assert message.policy.overlap == pb.OVERLAP_POLICY_BUFFER_ALL and message.policy.catchup_window.seconds == 120
    assert [t.ToDatetime(tzinfo=UTC) for t in message.next_run_times] == list(schedule.next_runs)
    assert [(r.run_time.ToDatetime(tzinfo=UTC), r.outcome) for r in message.recent_runs] == [(NOW, "sent message m")]
