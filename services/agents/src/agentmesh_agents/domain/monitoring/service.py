"""The monitoring agent's background work, as one thing the service starts."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from agentmesh_agents.domain.monitoring.events import SystemEventFeed
from agentmesh_agents.domain.monitoring.monitor import Monitor
from agentmesh_agents.domain.monitoring.staleness import StalenessSweep
from agentmesh_agents.domain.monitoring.summary import DailySummary


@dataclass(frozen=True, slots=True)
class Monitoring:
    """The monitor over the feed, the staleness sweep, the daily summary."""

    monitor: Monitor
    feed: SystemEventFeed
    sweep: StalenessSweep
    summary: DailySummary
    sweep_seconds: float

    def runs(self, stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        """What to run until stop is set (none of them is essential to serving)."""
        return [
            self.monitor.run(self.feed, stop),
            self.sweep.run(stop, self.sweep_seconds),
            self.summary.run(stop),
        ]
