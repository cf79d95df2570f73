"""System events on JetStream (stream AM_SYSTEM, subjects `am.system.<project>`), and the
runtime's parts that report to them: the event publisher (failed turns, refused tool calls),
the message rate, the back-pressure and the inference client's quota waits (quota rejections,
one event per project a minute, whichever of them refused: the minute's id is the same).

Publishing stores a `agentmesh.common.v1.SystemEvent` with the event's id as
`Nats-Msg-Id`, so a repeat within the stream's dedup window is stored once. The
monitor reads every project's events with an ordered consumer of its own per
replica (each replica counts every event; see domain/monitoring/monitor.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from google.protobuf.message import DecodeError
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from agentmesh.common.v1 import system_event_pb2
from agentmesh_agents.adapters.metrics import ObservedEventPublisher
from agentmesh_agents.domain.admission import MessageAdmission
from agentmesh_agents.domain.backlog import Backlog, QueueDepth
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import Message
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind, SystemReporter
from agentmesh_agents.domain.ports import ConversationEvents
from agentmesh_agents.domain.tool_models import ToolCallRecord
from agentmesh_core.errors import ResourceExhausted, Unavailable
from agentmesh_events import subjects
from agentmesh_events.bus import outgoing_headers
from agentmesh_grpc.well_known import datetime_of, timestamp_proto

log = logging.getLogger(__name__)

_POLL_SECONDS = 5.0
KIND = {
    SystemEventKind.TURN_FAILED: system_event_pb2.SYSTEM_EVENT_KIND_TURN_FAILED,
    SystemEventKind.TOOL_REFUSED: system_event_pb2.SYSTEM_EVENT_KIND_TOOL_REFUSED,
    SystemEventKind.MAILBOX_STALE: system_event_pb2.SYSTEM_EVENT_KIND_MAILBOX_STALE,
    SystemEventKind.TURN_PARKED_LONG: system_event_pb2.SYSTEM_EVENT_KIND_TURN_PARKED_LONG,
    SystemEventKind.SCHEDULE_FAILED: system_event_pb2.SYSTEM_EVENT_KIND_SCHEDULE_FAILED,
    SystemEventKind.QUOTA_REJECTED: system_event_pb2.SYSTEM_EVENT_KIND_QUOTA_REJECTED,
    SystemEventKind.JOB_FAILED: system_event_pb2.SYSTEM_EVENT_KIND_JOB_FAILED,
}
_KIND_OF = {value: kind for kind, value in KIND.items()}


def encode_system_event(event: SystemEvent) -> bytes:
    return system_event_pb2.SystemEvent(
        id=event.id,
        project_id=event.project_id,
        agent_id=event.agent_id,
        message_id=event.message_id,
        kind=KIND[event.kind],
        detail=event.detail,
        occur_time=timestamp_proto(event.occurred_at),
        age_seconds=event.age_seconds,
        subject=event.subject,
    ).SerializeToString()


def decode_system_event(data: bytes) -> SystemEvent | None:
    """The stored event, or None for one this version cannot read (an unknown kind, a bad payload)."""
    try:
        proto = system_event_pb2.SystemEvent.FromString(data)
    except DecodeError:
        return None
    kind = _KIND_OF.get(proto.kind)
    if kind is None or not proto.id or not proto.project_id:
        return None
    return SystemEvent(
        id=proto.id,
        kind=kind,
        project_id=proto.project_id,
        occurred_at=datetime_of(proto.occur_time),
        agent_id=proto.agent_id,
        message_id=proto.message_id,
        detail=proto.detail,
        age_seconds=proto.age_seconds,
        subject=proto.subject,
    )


class NatsSystemEvents:
    """SystemEvents and SystemEventFeed on JetStream."""

    def __init__(self, js: JetStreamContext, timeout: float = 5.0) -> None:
        self._js = js
        self._timeout = timeout

    async def publish(self, event: SystemEvent) -> None:
        try:
            await self._js.publish(
                subjects.system_subject(event.project_id),
                encode_system_event(event),
                timeout=self._timeout,
                stream=subjects.SYSTEM_STREAM,
                headers=outgoing_headers(msg_id=event.id),
            )
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error

    async def subscribe(self, since: datetime) -> AsyncIterator[SystemEvent]:
        subscription = await self._js.subscribe(
            subjects.SYSTEM_SUBJECTS,
            stream=subjects.SYSTEM_STREAM,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            config=ConsumerConfig(opt_start_time=since),
        )
        try:
            while True:
                try:
                    msg = await subscription.next_msg(timeout=_POLL_SECONDS)
                except TimeoutError:
                    continue
                event = decode_system_event(msg.data)
                if event is None:
                    log.warning("system event on %s could not be read; skipped", msg.subject)
                    continue
                yield event
        finally:
            try:
                await subscription.unsubscribe()
            except (NatsError, TimeoutError) as error:
                log.debug("closing the system events feed failed: %s", type(error).__name__)


class ReportingEventPublisher(ObservedEventPublisher):
    """Publishes (and counts) as ObservedEventPublisher does, and reports failed turns and refused calls."""

    def __init__(self, events: ConversationEvents, reporter: SystemReporter) -> None:
        super().__init__(events)
        self._reporter = reporter

    async def error(self, request: Message, agent_id: str, text: str) -> None:
        await super().error(request, agent_id, text)
        await self._reporter.turn_failed(request, agent_id, text)

    async def tool_result(self, request: Message, agent_id: str, call: ToolCallRecord, observation: str) -> None:
        await super().tool_result(request, agent_id, call, observation)
        await self._reporter.tool_call_ended(call)


class QuotaReports:
    """Reports rejections from code that cannot wait for the bus (a task per minute's event, kept till done)."""

    def __init__(self, reporter: SystemReporter) -> None:
        self._reporter = reporter
        self._pending: set[asyncio.Task[None]] = set()

    def rejected(self, project_id: str, error: ResourceExhausted) -> None:
        event = self._reporter.quota_rejected(project_id, error.message)
        if event is not None:
            task = asyncio.get_running_loop().create_task(self._reporter.report(event))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)


class ReportingAdmission(MessageAdmission):
    """The project message rate, reporting its rejections to the monitor."""

    def __init__(self, rate: str | None, reporter: SystemReporter) -> None:
        super().__init__(rate)
        self._reports = QuotaReports(reporter)

    def sending(self, project_id: str) -> None:
        try:
            super().sending(project_id)
        except ResourceExhausted as error:
            self._reports.rejected(project_id, error)
            raise


class ReportingBacklog(Backlog):
    """Back-pressure, reporting its rejections to the monitor."""

    def __init__(self, depth: QueueDepth, limits: Limits, reporter: SystemReporter) -> None:
        super().__init__(depth, limits)
        self._reports = QuotaReports(reporter)

    async def admit(self, project_id: str) -> None:
        try:
            await super().admit(project_id)
        except ResourceExhausted as error:
            self._reports.rejected(project_id, error)
            raise
