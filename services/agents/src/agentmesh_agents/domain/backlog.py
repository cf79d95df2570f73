"""Back-pressure: new turns are refused while too many wait for an answer.

Every accepted message is a model run still to come. Past a per-project or a
global number of unanswered messages (queued or being processed), SendMessage
is refused at once with ResourceExhausted and a retry time (the gateway answers
429 with Retry-After), and nothing is stored, so the queue stays bounded and
the messages already accepted keep their pace instead of waiting ever longer.

Counting costs a database transaction, so a count is reused for a moment: for
`trust_seconds` after it, while the count plus the messages admitted here since
stays under half of each limit, a send is admitted without counting again. In
one replica that estimate is not below the truth (answers only lower it; sends
counted at the same moment may miss each other, as they do without the reuse);
other replicas' sends are what the half left over is for. Near a limit, every
send counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from agentmesh_agents.domain.limits import Limits
from agentmesh_core.errors import ResourceExhausted


class QueueDepth(Protocol):
    """How many messages to agents are not answered yet."""

    async def unanswered(self, project_id: str) -> tuple[int, int]:
        """Those queued or being processed: (in the project, in all projects)."""
        ...


@dataclass(slots=True)
class _Count:
    """A count taken at `at`, and the messages admitted here since."""

    at: float
    unanswered: int
    admitted: int = 0

    def estimate(self) -> int:
        return self.unanswered + self.admitted


class Backlog:
    """Admits a new turn while the project's and the platform's unanswered messages are under their limits."""

    def __init__(
        self,
        depth: QueueDepth,
        limits: Limits,
        trust_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        projects_kept: int = 10_000,
    ) -> None:
        self._depth = depth
        self._limits = limits
        self._trust_seconds = trust_seconds
        self._clock = clock
        self._projects_kept = projects_kept
        self._projects: dict[str, _Count] = {}
        self._all: _Count | None = None

    async def admit(self, project_id: str) -> None:
        """ResourceExhausted (with a retry time) when a limit is reached."""
        limits = self._limits
        now = self._clock()
        known, everyone = self._projects.get(project_id), self._all
        if (
            known is not None
            and everyone is not None
            and now - known.at < self._trust_seconds
            and now - everyone.at < self._trust_seconds
            and known.estimate() < limits.project_unanswered_max / 2
            and everyone.estimate() < limits.unanswered_max / 2
        ):
            known.admitted += 1
            everyone.admitted += 1
            return
        in_project, in_all = await self._depth.unanswered(project_id)
        self._refuse_at_a_limit(in_project, in_all)
        self._remember(project_id, _Count(now, in_project, 1), _Count(now, in_all, 1))

    def _remember(self, project_id: str, project: _Count, everyone: _Count) -> None:
        self._projects.pop(project_id, None)
        self._projects[project_id] = project  # newest last
        if len(self._projects) > self._projects_kept:
            del self._projects[next(iter(self._projects))]
        self._all = everyone

    def _refuse_at_a_limit(self, in_project: int, in_all: int) -> None:
        limits = self._limits
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
