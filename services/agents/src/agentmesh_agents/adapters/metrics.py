"""The agents service's Prometheus figures, observed from around the domain (no domain code counts).

- `agentmesh_agents_turns_in_flight`, `agentmesh_agents_message_processing_seconds{outcome}`:
  deliveries being processed, and how long each took (ObservedProcessor, which also
  continues the sender's trace: one span per delivery, its parent the span that posted it);
- `agentmesh_agents_tool_calls_total{tool,outcome}`: finished tool calls (ObservedEventPublisher);
- `agentmesh_agents_recall_skipped_total{reason}`: turns answered without project memory because
  the memory search failed (deadline_exceeded, unavailable, ...; ObservedEventPublisher);
- `agentmesh_agents_system_events_reported_total{kind}`, `agentmesh_agents_monitor_alerts_total{kind,paused}`:
  what this replica reported to the monitor (ObservedSystemEvents), and the alerts it posted (ObservedAlerts);
- `agentmesh_agents_mailbox_pending_messages{partition}`, `..._mailbox_oldest_message_age_seconds{partition}`,
  `agentmesh_agents_turns_parked`: read every few seconds from JetStream and PostgreSQL (BacklogGauges).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Connection, func, select

from agentmesh_agents.adapters.mailbox_runtime import DURABLE_PREFIX
from agentmesh_agents.adapters.tables import turns
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.lanes import Processor
from agentmesh_agents.domain.models import Message
from agentmesh_agents.domain.monitoring.alerts import AlertOutcome, Alerts
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEvents
from agentmesh_agents.domain.monitoring.rules import Trip
from agentmesh_agents.domain.processor import Delivery, Outcome
from agentmesh_agents.domain.tool_models import ToolCallRecord
from agentmesh_core.aio import wait_set
from agentmesh_db.database import Database
from agentmesh_events import subjects
from agentmesh_observability import tracing

log = logging.getLogger(__name__)

# How often BacklogGauges reads JetStream and PostgreSQL (a scrape every 15-30 s is usual).
BACKLOG_REFRESH_SECONDS = 5.0

TURNS_IN_FLIGHT = Gauge("agentmesh_agents_turns_in_flight", "Mailbox deliveries being processed now")
PROCESSING = Histogram(
    "agentmesh_agents_message_processing_seconds",
    "Time to process one mailbox delivery, by outcome (done, or retry: handed back for later)",
    ["outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
TOOL_CALLS = Counter(
    "agentmesh_agents_tool_calls_total", "Finished tool calls, by tool and outcome", ["tool", "outcome"]
)
RECALL_SKIPPED = Counter(
    "agentmesh_agents_recall_skipped_total",
    "Turns answered without project memory because the memory search failed, by reason",
    ["reason"],
)
MAILBOX_PENDING = Gauge(
    "agentmesh_agents_mailbox_pending_messages",
    "Messages in an inbox partition not yet acknowledged (waiting or being processed)",
    ["partition"],
)
MAILBOX_AGE = Gauge(
    "agentmesh_agents_mailbox_oldest_message_age_seconds",
    "Age of the oldest message still in an inbox partition (0 when empty)",
    ["partition"],
)
SYSTEM_EVENTS = Counter(
    "agentmesh_agents_system_events_reported_total",
    "System events this replica reported to the monitor (a repeat of one event counts again), by kind",
    ["kind"],
)
ALERTS = Counter(
    "agentmesh_agents_monitor_alerts_total",
    "Alerts this replica posted to a monitoring conversation (one replica posts each), by event kind and pause",
    ["kind", "paused"],
)
TURNS_PARKED = Gauge("agentmesh_agents_turns_parked", "Turns parked (waiting for an approval, a delegation, a wake)")


class ObservedProcessor:
    """A MessageProcessor, counted, timed and traced (the span continues the poster's trace)."""

    def __init__(self, processor: Processor) -> None:
        self._processor = processor

    async def process(self, delivery: Delivery) -> Outcome:
        """Process one delivery as the wrapped processor does."""
        started = time.perf_counter()
        TURNS_IN_FLIGHT.inc()
        outcome: Outcome | None = None
        try:
            with tracing.span(
                "agents.process_message",
                parent=tracing.parent_from_traceparent(delivery.trace_parent),
                attributes=_span_attributes(delivery),
            ):
                outcome = await self._processor.process(delivery)
            return outcome
        finally:
            TURNS_IN_FLIGHT.dec()
            label = "error" if outcome is None else "done" if outcome.done else "retry"
            PROCESSING.labels(label).observe(time.perf_counter() - started)


def _span_attributes(delivery: Delivery) -> dict[str, str]:
    attributes = {
        "agentmesh.project_id": delivery.project_id,
        "agentmesh.agent_id": delivery.agent_id,
        "agentmesh.message_id": delivery.message_id,
        "messaging.system": "nats",
    }
    if delivery.request_id:
        attributes[tracing.REQUEST_ID_ATTRIBUTE] = delivery.request_id
    return attributes


class ObservedEventPublisher(EventPublisher):
    """Publishes as EventPublisher does, counting each finished tool call by outcome and each skipped recall."""

    async def tool_result(self, request: Message, agent_id: str, call: ToolCallRecord, observation: str) -> None:
        TOOL_CALLS.labels(call.tool, call.outcome.value).inc()
        await super().tool_result(request, agent_id, call, observation)

    async def recall_skipped(self, request: Message, agent_id: str, reason: str) -> None:
        RECALL_SKIPPED.labels(reason).inc()
        await super().recall_skipped(request, agent_id, reason)


class ObservedSystemEvents:
    """SystemEvents, each report counted by kind."""

    def __init__(self, events: SystemEvents) -> None:
        self._events = events

    async def publish(self, event: SystemEvent) -> None:
        """Publish as the wrapped port does."""
        SYSTEM_EVENTS.labels(event.kind.value).inc()
        await self._events.publish(event)


class ObservedAlerts(Alerts):
    """Alerts, each one this replica posted counted."""

    async def raise_alert(self, trip: Trip) -> AlertOutcome:
        outcome = await super().raise_alert(trip)
        if outcome.posted:
            ALERTS.labels(trip.rule.kind.value, str(outcome.paused).lower()).inc()
        return outcome


class BacklogGauges:
    """Reads the inbox partitions' backlog and the parked turns into gauges, every `interval` seconds."""

    def __init__(self, js: JetStreamContext, db: Database, partitions: int) -> None:
        self._js = js
        self._db = db
        self._partitions = partitions

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Refresh until stop is set; a failed read is logged and tried again next time."""
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception as error:  # noqa: BLE001 - figures are best effort; serving is not
                log.warning("could not read the mailbox figures (%s)", type(error).__name__)
            await wait_set(stop, interval)

    async def refresh(self) -> None:
        """Read every figure once."""
        now = datetime.now(UTC)
        for partition in range(self._partitions):
            label = str(partition)
            try:
                info = await self._js.consumer_info(subjects.INBOX_STREAM, f"{DURABLE_PREFIX}{partition}")
            except NotFoundError:
                continue  # its worker has not started yet
            MAILBOX_PENDING.labels(label).set(info.num_pending + info.num_ack_pending)
            MAILBOX_AGE.labels(label).set(await self._oldest_age(partition, now))
        TURNS_PARKED.set(await self._db.run(_count_parked))

    async def _oldest_age(self, partition: int, now: datetime) -> float:
        try:
            oldest = await self._js.get_msg(
                subjects.INBOX_STREAM, seq=1, subject=subjects.inbox_partition_filter(partition), next=True
            )
        except NotFoundError:
            return 0.0
        if oldest.time is None:
            return 0.0
        stored = oldest.time if oldest.time.tzinfo else oldest.time.replace(tzinfo=UTC)
        return max((now - stored).total_seconds(), 0.0)


def _count_parked(connection: Connection) -> int:
    return int(
        connection.execute(select(func.count()).select_from(turns).where(turns.c.parked.isnot(None))).scalar_one()
    )
