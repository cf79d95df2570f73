"""Proto <-> domain conversions for SchedulerService (no decisions, no validation).

Validation happens in the domain, after the project scope check, so nothing
here raises: a non-member must learn nothing from a malformed request.
"""

from __future__ import annotations

from google.protobuf import duration_pb2

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh_grpc.struct_values import value_to_json
from agentmesh_grpc.well_known import datetime_of, timestamp_proto
from agentmesh_scheduler.domain.models import (
    DEFAULT_CATCHUP_WINDOW_SECONDS,
    CronTrigger,
    IntervalTrigger,
    JsonValue,
    OneOffTrigger,
    OverlapPolicy,
    Schedule,
    ScheduleDraft,
    SchedulePatch,
    Trigger,
)
from agentmesh_scheduler.rpc.step_mapping import payload_to_proto, schedule_job_from_proto, schedule_job_to_proto

_OVERLAP_TO_PROTO = {
    OverlapPolicy.SKIP: pb.OVERLAP_POLICY_SKIP,
    OverlapPolicy.BUFFER_ONE: pb.OVERLAP_POLICY_BUFFER_ONE,
    OverlapPolicy.BUFFER_ALL: pb.OVERLAP_POLICY_BUFFER_ALL,
    OverlapPolicy.CANCEL_OTHER: pb.OVERLAP_POLICY_CANCEL_OTHER,
    OverlapPolicy.TERMINATE_OTHER: pb.OVERLAP_POLICY_TERMINATE_OTHER,
    OverlapPolicy.ALLOW_ALL: pb.OVERLAP_POLICY_ALLOW_ALL,
}
_OVERLAP_FROM_PROTO = {int(number): policy for policy, number in _OVERLAP_TO_PROTO.items()}
_TRIGGER_PATHS = ("spec.cron", "spec.interval_seconds", "spec.run_at")
UPDATE_PATHS = ("spec", *_TRIGGER_PATHS, "spec.time_zone", "payload", "enabled", "policy", "policy.overlap",
                "policy.catchup_window", "job")  # fmt: skip


def trigger_from_proto(spec: pb.ScheduleSpec) -> Trigger | None:
    """The trigger set in the spec's oneof, or None when none is set."""
    match spec.WhichOneof("trigger"):
        case "cron":
            return CronTrigger(spec.cron)
        case "interval_seconds":
            return IntervalTrigger(spec.interval_seconds)
        case "run_at":
            return OneOffTrigger(datetime_of(spec.run_at))
    return None


def payload_from_proto(schedule: pb.Schedule) -> JsonValue:
    """The payload as a JSON value; None when unset or null."""
    if not schedule.HasField("payload") or schedule.payload.WhichOneof("kind") is None:
        return None
    # Not json_format.MessageToDict: it raises on NaN and infinities, which the domain
    # must see (and refuse) only after the caller's scope is checked.
    return value_to_json(schedule.payload)


def overlap_from_proto(number: int) -> OverlapPolicy | None:
    """The overlap policy; None when unspecified (the domain's default then applies)."""
    return _OVERLAP_FROM_PROTO.get(number)


def _seconds(duration: duration_pb2.Duration) -> int:
    return duration.seconds + (1 if duration.nanos > 0 else 0)


def draft_from_request(request: pb.CreateScheduleRequest) -> ScheduleDraft | None:
    """A CreateSchedule request's schedule, as the domain reads it (not yet validated)."""
    if not request.HasField("schedule"):
        return None
    schedule = request.schedule
    policy = schedule.policy
    return ScheduleDraft(
        agent_id=schedule.agent_id,
        trigger=trigger_from_proto(schedule.spec),
        time_zone=schedule.spec.time_zone,
        payload=payload_from_proto(schedule),
        enabled=schedule.enabled,
        overlap=overlap_from_proto(policy.overlap),
        catchup_window_seconds=_seconds(policy.catchup_window) if policy.HasField("catchup_window") else None,
        job=schedule_job_from_proto(schedule.job) if schedule.HasField("job") else None,
    )


def patch_from_request(request: pb.UpdateScheduleRequest) -> SchedulePatch:
    """An UpdateSchedule request as the domain reads it: the fields its update_mask names."""
    paths = set(request.update_mask.paths)
    schedule = request.schedule
    problems = [f"unknown update_mask path {path!r}" for path in sorted(paths - set(UPDATE_PATHS))]
    changes: dict[str, object] = {}
    if paths & {"spec", *_TRIGGER_PATHS}:
        trigger = trigger_from_proto(schedule.spec)
        if trigger is not None:
            changes["trigger"] = trigger
        elif paths & set(_TRIGGER_PATHS):
            problems.append("exactly one of cron, interval_seconds or run_at is required")
    if paths & {"spec", "spec.time_zone"}:
        changes["time_zone"] = schedule.spec.time_zone
    if "payload" in paths:
        payload = payload_from_proto(schedule)
        if payload is None:
            problems.append("payload is required")
        changes["payload"] = payload
    if "enabled" in paths:
        changes["enabled"] = schedule.enabled
    if "job" in paths:
        if schedule.HasField("job"):
            changes["job"] = schedule_job_from_proto(schedule.job)
        else:
            problems.append("job is required")
    if paths & {"policy", "policy.overlap"}:
        changes["overlap"] = overlap_from_proto(schedule.policy.overlap) or OverlapPolicy.SKIP
    if paths & {"policy", "policy.catchup_window"}:
        window = schedule.policy.catchup_window
        changes["catchup_window_seconds"] = (
            _seconds(window) if schedule.policy.HasField("catchup_window") else DEFAULT_CATCHUP_WINDOW_SECONDS
        )
    return SchedulePatch(**changes, problems=tuple(problems))  # type: ignore[arg-type]


def spec_to_proto(schedule: Schedule) -> pb.ScheduleSpec:
    """The trigger and time zone of a schedule."""
    spec = pb.ScheduleSpec(time_zone=schedule.time_zone)
    match schedule.trigger:
        case CronTrigger(expression):
            spec.cron = expression
        case IntervalTrigger(seconds):
            spec.interval_seconds = seconds
        case OneOffTrigger(run_at):
            spec.run_at.CopyFrom(timestamp_proto(run_at))
    return spec


def schedule_to_proto(schedule: Schedule) -> pb.Schedule:
    """A domain schedule as the API shows it."""
    return pb.Schedule(
        id=schedule.id,
        project_id=schedule.project_id,
        agent_id=schedule.agent_id or "",
        spec=spec_to_proto(schedule),
        payload=payload_to_proto(schedule.payload) if schedule.payload is not None else None,
        job=schedule_job_to_proto(schedule.job) if schedule.job is not None else None,
        enabled=schedule.enabled,
        temporal_schedule_id=schedule.temporal_schedule_id,
        last_run_time=timestamp_proto(schedule.last_run_at),
        last_run_outcome=schedule.last_run_outcome or "",
        next_run_time=timestamp_proto(schedule.next_run_at),
        create_time=timestamp_proto(schedule.created_at),
        policy=pb.SchedulePolicy(
            overlap=_OVERLAP_TO_PROTO[schedule.overlap],
            catchup_window=duration_pb2.Duration(seconds=schedule.catchup_window_seconds),
        ),
        next_run_times=[timestamp_proto(moment) for moment in schedule.next_runs],
        recent_runs=[
            pb.ScheduleRun(run_time=timestamp_proto(run.ran_at), outcome=run.outcome) for run in schedule.recent_runs
        ],
    )
