"""The daily health summary: the figures are counted here; the monitoring agent's model phrases them.

Once a day (at `hour` UTC) each project's monitoring agent gets a message holding
the last day's figures and is asked to write the summary for the admins; its reply
lands in the monitoring conversation. Every replica tries; the message's
idempotency key (the date) keeps it to one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from agentmesh_agents.domain.messaging import Messaging
from agentmesh_agents.domain.models import Agent, Message, Participant, ParticipantType, utcnow
from agentmesh_agents.domain.monitoring.alerts import MONITOR, MonitorAgents
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind
from agentmesh_agents.domain.ports import AgentRepository
from agentmesh_core.aio import wait_set
from agentmesh_core.errors import AgentmeshError
from agentmesh_core.ids import new_id

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
SUMMARY_PERFORMATIVE = "health_summary"
_CHECK_SECONDS = 60.0


class Tally:
    """The last day's system events, per project (ids kept, so a replayed event counts once)."""

    def __init__(self) -> None:
        self._events: OrderedDict[str, SystemEvent] = OrderedDict()

    def add(self, event: SystemEvent) -> None:
        self._events.setdefault(event.id, event)

    def forget_before(self, now: datetime) -> None:
        for event_id, event in list(self._events.items()):
            if event.occurred_at <= now - DAY:
                del self._events[event_id]

    def figures(self, project_id: str, since: datetime) -> dict[SystemEventKind, Counter[str]]:
        """Per kind, how many events each agent had since `since` ("" holds the project's own, e.g. quota)."""
        figures: dict[SystemEventKind, Counter[str]] = {}
        for event in self._events.values():
            if event.project_id == project_id and event.occurred_at > since:
                figures.setdefault(event.kind, Counter())[event.agent_id] += 1
        return figures


def summary_request(figures: dict[SystemEventKind, Counter[str]], names: dict[str, str], until: datetime) -> str:
    """The monitoring agent's prompt: the figures, and what to write."""
    lines = [f"Health figures for the 24 hours to {until:%Y-%m-%d %H:%M} UTC (counted by the platform's rules):"]
    if not figures:
        lines.append("- nothing went wrong: no failed turns, refused tool calls, stale mailboxes or parked turns.")
    for kind in SystemEventKind:
        per_agent = figures.get(kind)
        if not per_agent:
            continue
        who = ", ".join(f"{names.get(agent, agent or 'the project')}: {n}" for agent, n in per_agent.most_common())
        lines.append(f"- {kind.value}: {sum(per_agent.values())} ({who})")
    lines.append("Write a short health summary of these figures for the project's admins.")
    return "\n".join(lines)


class DailySummary:
    """Sends each monitoring agent its day's figures once a day (at `hour` UTC)."""

    def __init__(
        self,
        tally: Tally,
        monitors: MonitorAgents,
        agents: AgentRepository,
        messaging: Messaging,
        hour: int = 6,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._tally = tally
        self._monitors = monitors
        self._agents = agents
        self._messaging = messaging
        self._hour = hour
        self._clock = clock

    async def send(self, now: datetime) -> list[Message]:
        """Send today's summary request to every monitoring agent (sending it again is a no-op)."""
        return [await self._send_one(monitor, now) for monitor in await self._monitors.all()]

    async def _send_one(self, monitor: Agent, now: datetime) -> Message:
        figures = self._tally.figures(monitor.project_id, now - DAY)
        names = {}
        for per_agent in figures.values():
            for agent_id in per_agent:
                if (
                    agent_id
                    and agent_id not in names
                    and (agent := await self._agents.get(monitor.project_id, agent_id))
                ):
                    names[agent_id] = agent.name
        request = Message(
            id=new_id(),
            project_id=monitor.project_id,
            conversation_id=monitor.id,
            sender=MONITOR,
            receiver=Participant(ParticipantType.AGENT, monitor.id),
            content=summary_request(figures, names, now),
            performative=SUMMARY_PERFORMATIVE,
            idempotency_key=f"monitor:health-summary:{now.date().isoformat()}",
            created_at=now,
            updated_at=now,
        )
        return await self._messaging.accept(request)

    async def run(self, stop: asyncio.Event) -> None:
        """Send the summaries each day once the hour has come (checked every minute)."""
        last_day = ""
        while not stop.is_set():
            now = self._clock()
            if now.hour >= self._hour and now.date().isoformat() != last_day:
                try:
                    await self.send(now)
                    last_day = now.date().isoformat()
                except AgentmeshError as error:
                    log.warning("daily health summary not sent (%s); trying again", error.code)
            await wait_set(stop, _CHECK_SECONDS)
