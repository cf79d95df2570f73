"""Back-pressure: a new turn is admitted while the project's and the platform's unanswered messages are under limits."""

from __future__ import annotations

import pytest

from agentmesh_agents.domain.backlog import Backlog
from agentmesh_agents.domain.limits import Limits
from agentmesh_core.errors import ResourceExhausted

LIMITS = Limits(project_unanswered_max=3, unanswered_max=10, backlog_retry_after_seconds=4.0)


class Depth:
    """Fixed counts, and the projects asked about."""

    def __init__(self, in_project: int, in_all: int) -> None:
        self.counts = (in_project, in_all)
        self.asked: list[str] = []

    async def unanswered(self, project_id: str) -> tuple[int, int]:
        self.asked.append(project_id)
        return self.counts


async def test_under_both_limits_is_admitted() -> None:
    depth = Depth(2, 9)
    await Backlog(depth, LIMITS).admit("p1")
    assert depth.asked == ["p1"]


@pytest.mark.parametrize(
    ("in_project", "in_all", "says"),
    [(3, 3, "this project has 3 messages waiting"), (0, 10, "the agents are busy"), (5, 50, "this project")],
)
async def test_at_a_limit_is_refused_with_a_retry_time(in_project: int, in_all: int, says: str) -> None:
    with pytest.raises(ResourceExhausted, match=says) as refused:
        await Backlog(Depth(in_project, in_all), LIMITS).admit("p1")
    assert refused.value.retry_after == 4.0


def test_the_defaults_leave_room() -> None:
    defaults = Limits()
    assert 0 < defaults.project_unanswered_max < defaults.unanswered_max
