"""The scheduler's Prometheus figures and the Temporal interceptors that observe its worker.

Seen from a Temporal interceptor, so no activity or workflow code counts anything:

- `agentmesh_scheduler_schedule_fires_total`: firings of a schedule (the first
  attempt of each `send_scheduled_message`);
- `agentmesh_scheduler_activities_total{activity,result}` and
  `agentmesh_scheduler_activity_seconds{activity}`: every activity attempt
  (`ok`, `retry`: failed and Temporal tries again, `failed`: for good);
- `agentmesh_scheduler_job_steps_total{status}`: job steps reported finished
  (completed, failed, cancelled, skipped).

With tracing on (agentmesh_observability.tracing), Temporal's own OpenTelemetry
interceptor joins them: a schedule or job started from a traced RPC carries
the trace through its workflow into the activities, and so to the agents call.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram
from temporalio import activity, client, worker
from temporalio.exceptions import ApplicationError

from agentmesh_observability import tracing

FIRES = Counter("agentmesh_scheduler_schedule_fires_total", "Schedule firings (a scheduled message sent or tried)")
ACTIVITIES = Counter(
    "agentmesh_scheduler_activities_total", "Activity attempts, by activity and result", ["activity", "result"]
)
ACTIVITY_SECONDS = Histogram(
    "agentmesh_scheduler_activity_seconds",
    "Time of one activity attempt",
    ["activity"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
JOB_STEPS = Counter("agentmesh_scheduler_job_steps_total", "Job steps reported finished, by status", ["status"])

_FINISHED_STEPS = frozenset({"completed", "failed", "cancelled", "skipped"})
_FIRING = "send_scheduled_message"
_PROGRESS = "record_job_progress"


def temporal_interceptors() -> list[client.Interceptor]:
    """The client's interceptors (a worker built on the client uses them too)."""
    interceptors: list[client.Interceptor] = [ActivityMetrics()]
    if tracing.active():
        from temporalio.contrib.opentelemetry import TracingInterceptor

        interceptors.append(TracingInterceptor(tracer=tracing.tracer()))
    return interceptors


class ActivityMetrics(client.Interceptor, worker.Interceptor):
    """Counts and times the worker's activity attempts; nothing on the client side."""

    def intercept_activity(self, next: worker.ActivityInboundInterceptor) -> worker.ActivityInboundInterceptor:
        return _ObservedActivity(next)


class _ObservedActivity(worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: worker.ExecuteActivityInput) -> Any:
        info = activity.info()
        name = info.activity_type
        if name == _FIRING and info.attempt == 1:
            FIRES.inc()
        started = time.perf_counter()
        result = "failed"
        try:
            value = await super().execute_activity(input)
            result = "ok"
            if name == _PROGRESS:
                _count_finished_steps(input.args)
            return value
        except ApplicationError as error:
            result = "failed" if error.non_retryable else "retry"
            raise
        except Exception:
            result = "retry"
            raise
        finally:
            ACTIVITIES.labels(name, result).inc()
            ACTIVITY_SECONDS.labels(name).observe(time.perf_counter() - started)


def _count_finished_steps(args: Any) -> None:
    for progress in args:
        for step in getattr(progress, "steps", ()):
            if step.status in _FINISHED_STEPS:
                JOB_STEPS.labels(step.status).inc()
