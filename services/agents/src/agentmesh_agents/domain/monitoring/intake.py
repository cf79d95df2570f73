"""System events reported by other services (AgentService.ReportSystemEvent).

The scheduler has no connection to the message bus, by design: it reports its failed
schedule runs and jobs here and this service publishes them. Only a service may report, as
itself (its own service identity; who may assert which identity is trust.py's), and
only the kinds it is the source of. The occurrence key is the reporter's stable name
of what happened (a run's workflow id), so a retried report is the same event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime

from agentmesh_agents.domain.models import utcnow
from agentmesh_agents.domain.monitoring.events import DETAIL_MAX_CHARS, SystemEvent, SystemEventKind, SystemEvents
from agentmesh_agents.domain.ports import AgentRepository
from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity

# Which service may report which kinds (the rest are this service's own observations).
REPORTERS: Mapping[str, frozenset[SystemEventKind]] = {
    "scheduler": frozenset({SystemEventKind.SCHEDULE_FAILED, SystemEventKind.JOB_FAILED}),
}
REPORTED_DETAIL_MAX_CHARS = 1000
OCCURRENCE_KEY_MAX_CHARS = 200
SUBJECT_MAX_CHARS = 100


def reported_event_id(reporter: str, kind: SystemEventKind, project_id: str, occurrence_key: str) -> str:
    """Deterministic: the same report (a retry) names the same event; distinct reporters never collide."""
    digest = hashlib.sha256(f"{reporter}\0{project_id}\0{occurrence_key}".encode()).hexdigest()[:32]
    return f"{kind.value.replace('_', '-')}-{digest}"


class SystemEventIntake:
    """Validates a report from another service and publishes it as a system event."""

    def __init__(self, agents: AgentRepository, events: SystemEvents, clock: Callable[[], datetime] = utcnow) -> None:
        self._agents = agents
        self._events = events
        self._clock = clock

    async def report(
        self,
        identity: Identity,
        *,
        project_id: str,
        kind: SystemEventKind | None,
        agent_id: str,
        detail: str,
        occurrence_key: str,
        subject: str = "",
    ) -> SystemEvent:
        """Publish the reported event (Unavailable when the bus is down: the reporter retries)."""
        reporter = identity.subject if identity.role is GlobalRole.SERVICE else ""
        allowed = REPORTERS.get(reporter)
        if allowed is None:
            raise PermissionDenied("only a platform service may report system events")
        if kind is None:
            raise InvalidInput("kind is required")
        if kind not in allowed:
            raise PermissionDenied(f"{reporter} may not report {kind.value}")
        if not project_id:
            raise InvalidInput("project_id is required")
        if not occurrence_key.strip() or len(occurrence_key) > OCCURRENCE_KEY_MAX_CHARS:
            raise InvalidInput(f"occurrence_key is required (at most {OCCURRENCE_KEY_MAX_CHARS} characters)")
        if len(subject) > SUBJECT_MAX_CHARS:
            raise InvalidInput(f"subject is at most {SUBJECT_MAX_CHARS} characters")
        if len(detail) > REPORTED_DETAIL_MAX_CHARS:
            raise InvalidInput(f"detail is at most {REPORTED_DETAIL_MAX_CHARS} characters")
        if agent_id:
            if await self._agents.get(project_id, agent_id) is None:
                raise NotFound("agent not found")
        elif not await self._agents.list(project_id, None, 1):
            # This service knows a project by its agents: one without any has nothing to monitor.
            raise NotFound("project not found")
        event = SystemEvent(
            id=reported_event_id(reporter, kind, project_id, occurrence_key),
            kind=kind,
            project_id=project_id,
            occurred_at=self._clock(),
            agent_id=agent_id,
            detail=detail[:DETAIL_MAX_CHARS],
            subject=subject,
        )
        await self._events.publish(event)
        return event
