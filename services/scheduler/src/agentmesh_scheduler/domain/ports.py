"""The narrow interfaces the domain needs from the outside world.

Adapters implement them (PostgreSQL, Temporal, the agents service); tests use
the in-memory fakes in adapters/fakes.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from agentmesh_scheduler.domain.models import JsonValue, Schedule

Clock = Callable[[], datetime]


class ScheduleRepository(Protocol):
    """Stored schedules, always scoped by project."""

    async def add(self, schedule: Schedule) -> None: ...

    async def get(self, project_id: str, schedule_id: str) -> Schedule | None: ...

    async def list_page(self, project_id: str, offset: int, limit: int) -> list[Schedule]:
        """The project's schedules by creation time (then id)."""
        ...

    async def list_project(self, project_id: str) -> list[Schedule]: ...

    async def remove(self, project_id: str, schedule_id: str) -> bool:
        """Delete one row; False when it was not there."""
        ...

    async def record_run(
        self,
        project_id: str,
        schedule_id: str,
        ran_at: datetime,
        outcome: str,
        next_run_at: datetime | None,
    ) -> bool:
        """Store a run's outcome; False when the schedule is gone."""
        ...


class ScheduleEngine(Protocol):
    """The durable timer that fires schedules (Temporal Schedules)."""

    async def create(self, schedule: Schedule) -> None:
        """Create the engine's schedule (paused when disabled); raises Unavailable or InvalidInput."""
        ...

    async def delete(self, temporal_schedule_id: str) -> bool:
        """Delete it; False when it was already gone."""
        ...

    async def next_run_time(self, temporal_schedule_id: str) -> datetime | None:
        """The engine's next firing (None when none); raises NotFound when the schedule is gone."""
        ...


class AgentDirectory(Protocol):
    """Knows which agents exist (the agents service, as the current caller)."""

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        """Raise NotFound("agent not found") unless the agent exists in the project."""
        ...


class MessageSender(Protocol):
    """Sends a message to an agent's mailbox (the agents service)."""

    async def send(
        self,
        *,
        project_id: str,
        agent_id: str,
        content: JsonValue,
        idempotency_key: str,
        correlation_id: str,
    ) -> str:
        """Send and return the accepted message's id."""
        ...
