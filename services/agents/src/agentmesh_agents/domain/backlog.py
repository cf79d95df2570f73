"""Back-pressure: new turns are refused while too many wait for an answer.

Every accepted message is a model run still to come. Past a per-project or a
global number of unanswered messages (queued or being processed), SendMessage
is refused at once with ResourceExhausted and a retry time (the gateway answers
429 with Retry-After), and nothing is stored, so the queue stays bounded and
the messages already accepted keep their pace instead of waiting ever longer.
"""

from __future__ import annotations

from typing import Protocol

from agentmesh_agents.domain.limits import Limits
from agentmesh_core.errors import ResourceExhausted


class QueueDepth(Protocol):
    """How many messages to agents are not answered yet."""

    async def unanswered(self, project_id: str) -> tuple[int, int]:
        """Those queued or being processed: (in the project, in all projects)."""
        ...


class Backlog:
    """Admits a new turn while the project's and the platform's unanswered messages are under their limits."""

    def __init__(self, depth: QueueDepth, limits: Limits) -> None:
        self._depth = depth
        self._limits = limits

    async def admit(self, project_id: str) -> None:
        """ResourceExhausted (with a retry time) when a limit is reached."""
        limits = self._limits
        in_project, in_all = await self._depth.unanswered(project_id)
        if in_project >= limits.project_unanswered_max:
            raise ResourceExhausted(
                f"this project has {in_project} messages waiting for an answer (the most allowed); retry later",
                retry_after=limits.backlog_retry_after_seconds,
            )
        if in_all >= limits.unanswered_max:
            raise ResourceExhausted(
                "the agents are busy: too many messages are waiting for an answer; retry later",
                retry_after=limits.backlog_retry_after_seconds,
            )
