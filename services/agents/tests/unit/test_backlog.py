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


class Stored:
    """Counts what was admitted (every admitted send is stored and stays unanswered), and when it was asked."""

    def __init__(self) -> None:
        self.stored = 0
        self.asked = 0

    async def unanswered(self, project_id: str) -> tuple[int, int]:
        self.asked += 1
        return self.stored, self.stored


async def test_a_count_is_reused_far_from_the_limits_and_nothing_over_a_limit_is_admitted() -> None:
    limits = Limits(project_unanswered_max=10, unanswered_max=100)
    depth, now = Stored(), [0.0]
    backlog = Backlog(depth, limits, trust_seconds=1.0, clock=lambda: now[0])
    admitted = 0
    with pytest.raises(ResourceExhausted, match="this project has 10"):
        while True:
            await backlog.admit("p1")
            admitted += 1
            depth.stored += 1
    assert admitted == 10  # exactly the limit
    assert depth.asked == 7  # 11 sends: the 2nd to the 5th reused the first count (under half the limit)


async def test_a_count_is_not_reused_after_the_trust_time() -> None:
    depth, now = Depth(0, 0), [0.0]
    backlog = Backlog(depth, Limits(), trust_seconds=1.0, clock=lambda: now[0])
    await backlog.admit("p1")
    await backlog.admit("p1")
    now[0] = 1.0
    await backlog.admit("p1")
    await backlog.admit("p2")  # never counted: counts
    assert depth.asked == ["p1", "p1", "p2"]
