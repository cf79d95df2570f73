"""Proto <-> domain round trips for SchedulerService messages."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_scheduler.domain.models import CronTrigger, IntervalTrigger, OneOffTrigger, Schedule
from agentmesh_scheduler.rpc import mapping

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _value(obj: object) -> struct_pb2.Value:
    value = struct_pb2.Value()
    json_format.ParseDict(obj, value)
    return value


def test_draft_reads_each_trigger_kind() -> None:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(NOW)
    cases = [
        (pb.ScheduleSpec(cron="0 9 * * *"), CronTrigger("0 9 * * *")),
        (pb.ScheduleSpec(interval_seconds=30), IntervalTrigger(30)),
        (pb.ScheduleSpec(run_at=stamp), OneOffTrigger(NOW)),
        (pb.ScheduleSpec(time_zone="UTC"), None),
    ]
    for spec, expected in cases:
        request = pb.CreateScheduleRequest(schedule=pb.Schedule(agent_id="a", spec=spec, payload=_value("hi")))
        draft = mapping.draft_from_request(request)
        assert draft is not None and draft.trigger == expected


def test_draft_payload_and_flags() -> None:
    request = pb.CreateScheduleRequest(
        schedule=pb.Schedule(
            agent_id="a",
            spec=pb.ScheduleSpec(interval_seconds=5, time_zone="Europe/Paris"),
            payload=_value({"task": "report", "items": [1, None]}),
            enabled=True,
        )
    )
    draft = mapping.draft_from_request(request)
    assert draft is not None
    assert draft.payload == {"task": "report", "items": [1.0, None]}
    assert (draft.time_zone, draft.enabled, draft.agent_id) == ("Europe/Paris", True, "a")


def test_missing_schedule_or_payload_maps_to_none() -> None:
    assert mapping.draft_from_request(pb.CreateScheduleRequest(project_id="p")) is None
    draft = mapping.draft_from_request(pb.CreateScheduleRequest(schedule=pb.Schedule(agent_id="a")))
    assert draft is not None and draft.payload is None
    null = struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)
    draft = mapping.draft_from_request(pb.CreateScheduleRequest(schedule=pb.Schedule(payload=null)))
    assert draft is not None and draft.payload is None


def test_out_of_range_run_at_is_clamped_not_raised() -> None:
    huge = pb.ScheduleSpec(run_at=timestamp_pb2.Timestamp(seconds=2**62))
    tiny = pb.ScheduleSpec(run_at=timestamp_pb2.Timestamp(seconds=-(2**62)))
    assert mapping.trigger_from_proto(huge) == OneOffTrigger(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert mapping.trigger_from_proto(tiny) == OneOffTrigger(datetime(1, 1, 1, tzinfo=UTC))


def test_schedule_to_proto() -> None:
    schedule = Schedule(
        id="s",
        project_id="p",
        agent_id="a",
        trigger=OneOffTrigger(NOW),
        time_zone="UTC",
        payload={"task": "report"},
        enabled=True,
        temporal_schedule_id="project-p-schedule-s",
        created_at=NOW,
        last_run_at=NOW,
        last_run_outcome="sent message m",
    )
    message = mapping.schedule_to_proto(schedule)
    assert message.spec.WhichOneof("trigger") == "run_at"
    assert message.spec.run_at.ToDatetime(tzinfo=UTC) == NOW
    assert json_format.MessageToDict(message.payload) == {"task": "report"}
    assert message.last_run_outcome == "sent message m"
    assert message.last_run_time.ToDatetime(tzinfo=UTC) == NOW
    assert not message.HasField("next_run_time")
    assert message.create_time.ToDatetime(tzinfo=UTC) == NOW
    cron = mapping.spec_to_proto(dataclasses.replace(schedule, trigger=CronTrigger("* * * * *")))
    assert cron.cron == "* * * * *"
