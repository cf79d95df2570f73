"""What a tripped rule does: an alert in the project's monitoring conversation, a log line, a pause.

A project opts in by creating its monitoring agent: an agent of type "monitor"
(admins only create agents). Its conversation (id = the monitoring agent's id) is
the admins' conversation: alerts are stored there as complete messages from the
system to the monitoring agent (no turn runs for them), read over REST like any
message (`GET /projects/{p}/messages?conversation_id=<monitoring agent id>`) but by
the project's admins only: Messaging leaves it out for its other members. The
monitoring agent's `model_config.pause_offenders: true` is the project's permission
to pause the offending agent (status `paused`: its mailbox keeps its messages until
an admin sets it `active` again).

The alert's idempotency key is the trip's key, so of all the replicas that see a
trip only the one whose insert creates the alert logs it and pauses the agent.
Projects without a monitoring agent get the log line only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agentmesh_agents.domain.models import (
    Agent,
    AgentStatus,
    Message,
    MessageStatus,
    Participant,
    ParticipantType,
    utcnow,
)
from agentmesh_agents.domain.monitoring.rules import Trip
from agentmesh_agents.domain.ports import AgentRepository, MessageRepository
from agentmesh_core.identity import Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_observability import context

log = logging.getLogger(__name__)

MONITOR_AGENT_TYPE = "monitor"
# The project's permission to pause offending agents, on its monitoring agent.
PAUSE_OFFENDERS = "pause_offenders"
ALERT_PERFORMATIVE = "alert"
# Who alerts and summaries are from.
MONITOR = Participant(ParticipantType.SYSTEM, "monitor")


class MonitorAgents(Protocol):
    """Finds monitoring agents (agents of type "monitor")."""

    async def of_project(self, project_id: str) -> Agent | None:
        """The project's monitoring agent (the oldest, should there be several)."""

    async def all(self) -> list[Agent]:
        """Every project's monitoring agent."""


async def admins_only_conversation(monitors: MonitorAgents | None, identity: Identity, project_id: str) -> str | None:
    """The conversation the caller may not read: the monitoring one, unless the caller is a project admin."""
    if monitors is None or identity.is_privileged or identity.project_role is ProjectRole.ADMIN:
        return None
    monitor = await monitors.of_project(project_id)
    return monitor.id if monitor is not None else None


def may_pause(monitor: Agent) -> bool:
    """Whether the project lets the monitor pause offending agents."""
    return monitor.model_config.get(PAUSE_OFFENDERS) is True


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What raising an alert did (`posted`: this call stored it; False when another replica had)."""

    posted: bool
    paused: bool
    message: Message | None = None


class Alerts:
    """Raises the alert of a trip."""

    def __init__(
        self,
        monitors: MonitorAgents,
        agents: AgentRepository,
        messages: MessageRepository,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._monitors = monitors
        self._agents = agents
        self._messages = messages
        self._clock = clock

    async def raise_alert(self, trip: Trip) -> AlertOutcome:
        """Post the alert (once), log it, and pause the agent when the project allows it."""
        event = trip.event
        # The log lines carry the project, the agent and the message that tripped the rule.
        with context.bind(project_id=event.project_id, agent_id=event.agent_id, message_id=event.message_id):
            return await self._raise(trip)

    async def _raise(self, trip: Trip) -> AlertOutcome:
        event = trip.event
        project_id = event.project_id
        monitor = await self._monitors.of_project(project_id)
        offender = await self._agents.get(project_id, event.agent_id) if event.agent_id else None
        text = _alert_text(trip, offender)
        if monitor is None:
            log.warning("monitoring alert (the project has no monitoring agent): %s", text)
            return AlertOutcome(posted=False, paused=False)
        pause = (
            trip.rule.pause
            and may_pause(monitor)
            and offender is not None
            and offender.id != monitor.id
            and offender.status is AgentStatus.ACTIVE
        )
        now = self._clock()
        alert = Message(
            id=new_id(),
            project_id=project_id,
            conversation_id=monitor.id,
            sender=MONITOR,
            receiver=Participant(ParticipantType.AGENT, monitor.id),
            content={
                "text": text + (" The agent is paused." if pause else ""),
                "alert": {
                    "rule": trip.rule.name,
                    "kind": trip.rule.kind.value,
                    "count": trip.count,
                    "window_seconds": trip.rule.window.total_seconds(),
                    "agent_id": event.agent_id,
                    "subject": event.subject,
                    "message_id": event.message_id,
                    "detail": event.detail,
                    "paused": pause,
                },
            },
            performative=ALERT_PERFORMATIVE,
            status=MessageStatus.COMPLETE,
            idempotency_key=trip.key,
            created_at=now,
            updated_at=now,
        )
        stored, created = await self._messages.add(alert)
        if not created:
            log.info("monitoring alert %s was already raised", trip.key)
            return AlertOutcome(posted=False, paused=False, message=stored)
        log.warning("monitoring alert: %s", text)
        if pause and offender is not None:
            await self._pause(project_id, offender.id)
        return AlertOutcome(posted=True, paused=pause, message=stored)

    async def _pause(self, project_id: str, agent_id: str) -> None:
        current = await self._agents.get(project_id, agent_id)  # fresh: keep what an admin changed meanwhile
        if current is None or current.status is AgentStatus.PAUSED:
            return
        paused = await self._agents.update(
            dataclasses.replace(current, status=AgentStatus.PAUSED, updated_at=self._clock())
        )
        if paused is not None:
            log.warning("agent %s paused by the monitor", agent_id)


def _alert_text(trip: Trip, offender: Agent | None) -> str:
    event = trip.event
    if offender is not None:
        who = f"Agent {offender.name!r} ({offender.id})"
    else:
        who = f"Agent {event.agent_id}" if event.agent_id else "The project"
    if event.subject:
        who += f" ({event.subject})"
    text = f"{who} tripped the rule: {trip.rule.describe()} ({trip.count} counted)."
    if event.detail:
        text += f" Last: {event.detail}"
    return text
