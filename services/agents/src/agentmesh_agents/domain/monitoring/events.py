"""System events: what went wrong in a project, as the monitor sees it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from agentmesh_agents.domain.models import Message, utcnow
from agentmesh_agents.domain.tool_models import ToolCallOutcome, ToolCallRecord

log = logging.getLogger(__name__)

DETAIL_MAX_CHARS = 300
# Quota rejections come in floods: one event per project per minute says enough (the id is the
# minute's, so replicas rejecting in the same minute publish the same event).
QUOTA_REPORT_SECONDS = 60
_QUOTA_PROJECTS_KEPT = 10_000
# Turns that failed because the platform could not serve them (processor.py, react.py): an outage is
# every agent's at once and says nothing about the agent; it shows on readiness and the metrics.
PLATFORM_FAULTS = frozenset({"inference service unavailable"})


class SystemEventKind(StrEnum):
    """What a system event reports."""

    TURN_FAILED = "turn_failed"
    TOOL_REFUSED = "tool_refused"
    MAILBOX_STALE = "mailbox_stale"
    TURN_PARKED_LONG = "turn_parked_long"
    SCHEDULE_FAILED = "schedule_failed"
    QUOTA_REJECTED = "quota_rejected"
    JOB_FAILED = "job_failed"


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """One occurrence; `id` is deterministic, so a repeat of the same occurrence is the same event."""

    id: str
    kind: SystemEventKind
    project_id: str
    occurred_at: datetime
    agent_id: str = ""
    message_id: str = ""
    detail: str = ""
    age_seconds: float = 0.0
    # What else it is about, counted apart by the rules (a schedule's id); "" for most kinds.
    subject: str = ""


class SystemEvents(Protocol):
    """Where system events are published (one subject per project)."""

    async def publish(self, event: SystemEvent) -> None: ...


class SystemEventFeed(Protocol):
    """Every project's system events, from a point in time on, then live."""

    def subscribe(self, since: datetime) -> AsyncIterator[SystemEvent]: ...


class SystemReporter:
    """Tells the monitor what the runtime saw go wrong (best effort: a lost event never fails a turn)."""

    def __init__(self, events: SystemEvents, clock: Callable[[], datetime] = utcnow) -> None:
        self._events = events
        self._clock = clock
        self._quota_reported: dict[str, int] = {}  # project -> the minute its last rejection was reported

    async def report(self, event: SystemEvent) -> None:
        """Publish one event; a failure is logged and forgotten (monitoring must not hurt serving)."""
        try:
            await self._events.publish(event)
        except Exception as error:  # noqa: BLE001 - events are notifications
            log.warning("system event %s not published (%s)", event.kind.value, type(error).__name__)

    async def turn_failed(self, request: Message, agent_id: str, text: str) -> None:
        """An agent's turn ended in an error (one event per request, however often it is redelivered).

        Failures that are the platform's (an outage) are not the agent's and are not reported.
        """
        if text in PLATFORM_FAULTS:
            return
        await self.report(
            SystemEvent(
                id=f"turn-failed-{request.id}",
                kind=SystemEventKind.TURN_FAILED,
                project_id=request.project_id,
                occurred_at=self._clock(),
                agent_id=agent_id,
                message_id=request.id,
                detail=text[:DETAIL_MAX_CHARS],
            )
        )

    async def tool_call_ended(self, call: ToolCallRecord) -> None:
        """A tool call ended; refused ones are reported."""
        if call.outcome is not ToolCallOutcome.REFUSED:
            return
        await self.report(
            SystemEvent(
                id=f"tool-refused-{call.id}",
                kind=SystemEventKind.TOOL_REFUSED,
                project_id=call.project_id,
                occurred_at=self._clock(),
                agent_id=call.agent_id,
                message_id=call.message_id,
                detail=f"{call.tool}: {call.error}"[:DETAIL_MAX_CHARS],
            )
        )

    def quota_rejected(self, project_id: str, detail: str) -> SystemEvent | None:
        """The event for a rejection, or None when this minute's was made already (this replica)."""
        now = self._clock()
        minute = int(now.timestamp() // QUOTA_REPORT_SECONDS)
        if self._quota_reported.get(project_id) == minute:
            return None
        self._quota_reported[project_id] = minute
        if len(self._quota_reported) > _QUOTA_PROJECTS_KEPT:
            self._quota_reported = {p: m for p, m in self._quota_reported.items() if m == minute}
        return SystemEvent(
            id=f"quota-rejected-{project_id}-{minute}",
            kind=SystemEventKind.QUOTA_REJECTED,
            project_id=project_id,
            occurred_at=now,
            detail=detail[:DETAIL_MAX_CHARS],
        )
