"""In-memory doubles of the monitor's ports (the adapter suites keep them honest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from agentmesh_agents.adapters.fakes import InMemoryAgentRepository
from agentmesh_agents.domain.models import Agent
from agentmesh_agents.domain.monitoring.alerts import MONITOR_AGENT_TYPE
from agentmesh_agents.domain.monitoring.events import SystemEvent
from agentmesh_agents.domain.monitoring.staleness import WaitingWork


class InMemorySystemEvents:
    """SystemEvents and SystemEventFeed in a list; a repeated id is stored once (the stream's dedup)."""

    def __init__(self) -> None:
        self.events: list[SystemEvent] = []
        self._changed = asyncio.Condition()

    async def publish(self, event: SystemEvent) -> None:
        if any(stored.id == event.id for stored in self.events):
            return
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def subscribe(self, since: datetime) -> AsyncIterator[SystemEvent]:
        position = 0
        while True:
            async with self._changed:
                while len(self.events) <= position:
                    await self._changed.wait()
            while position < len(self.events):
                event = self.events[position]
                position += 1
                if event.occurred_at >= since:
                    yield event


class InMemoryMonitorAgents:
    """MonitorAgents over the in-memory agent repository."""

    def __init__(self, agents: InMemoryAgentRepository) -> None:
        self._agents = agents

    def _monitors(self) -> list[Agent]:
        found = [a for a in self._agents.agents.values() if a.agent_type == MONITOR_AGENT_TYPE]
        return sorted(found, key=lambda a: (a.created_at, a.id))

    async def of_project(self, project_id: str) -> Agent | None:
        return next((a for a in self._monitors() if a.project_id == project_id), None)

    async def all(self) -> list[Agent]:
        oldest: dict[str, Agent] = {}
        for agent in self._monitors():
            oldest.setdefault(agent.project_id, agent)
        return list(oldest.values())


class StaticStaleWork:
    """StaleWork that answers from lists (the SQL adapter's query is tested on PostgreSQL)."""

    def __init__(self, waiting: list[WaitingWork] | None = None, parked: list[WaitingWork] | None = None) -> None:
        self.waiting = waiting or []
        self.parked_turns = parked or []

    async def oldest_waiting(self, before: datetime) -> list[WaitingWork]:
        return [item for item in self.waiting if item.since < before]

    async def parked(self, before: datetime) -> list[WaitingWork]:
        return [item for item in self.parked_turns if item.since < before]
