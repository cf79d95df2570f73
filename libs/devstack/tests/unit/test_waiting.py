"""eventually() returns the first truthy result and names what it waited for; never() fails fast."""

from __future__ import annotations

import itertools

import pytest

from agentmesh_devstack.waiting import describe, eventually, eventually_sync, never


async def test_eventually_returns_the_first_truthy_result() -> None:
    counter = itertools.count()
    assert await eventually(lambda: next(counter) >= 3 and "done", interval=0.001) == "done"


async def test_eventually_awaits_async_predicates_and_retries_failed_asserts() -> None:
    calls = []

    async def ready() -> int:
        calls.append(1)
        assert len(calls) >= 3, "not yet"
        return len(calls)

    assert await eventually(ready, interval=0.001) == 3


async def test_eventually_names_what_it_awaited_and_the_last_result() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0.05s waiting for the agent; last result: 0"):
        await eventually(lambda: 0, timeout=0.05, interval=0.01, what="the agent")


async def test_eventually_describes_a_lambda_by_its_source_and_keeps_the_assert_message() -> None:
    items: list[int] = []
    with pytest.raises(AssertionError, match=r"waiting for lambda: len\(items\) == 2; last result: False"):
        await eventually(lambda: len(items) == 2, timeout=0.02, interval=0.01)

    def has_items() -> None:
        assert items, "still empty"

    with pytest.raises(AssertionError, match=r"waiting for .*has_items; last check failed: still empty"):
        await eventually(has_items, timeout=0.02, interval=0.01)


async def test_eventually_lets_other_errors_through_at_once() -> None:
    def broken() -> bool:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await eventually(broken, timeout=5)


def test_eventually_sync_polls_without_a_loop() -> None:
    counter = itertools.count()
    assert eventually_sync(lambda: next(counter) == 2, interval=0.001) is True
    with pytest.raises(AssertionError, match="waiting for nothing"):
        eventually_sync(lambda: None, timeout=0.02, interval=0.01, what="nothing")


async def test_never_passes_quietly_and_fails_as_soon_as_the_condition_holds() -> None:
    await never(lambda: False, within=0.03, interval=0.01, why="no later event to wait for")
    counter = itertools.count()
    with pytest.raises(AssertionError, match=r"happened .* it must not \(a duplicate would show here\)"):
        await never(lambda: next(counter) == 2, within=5, interval=0.001, why="a duplicate would show here")


def test_describe_uses_the_function_name_when_not_a_lambda() -> None:
    def queue_is_empty() -> bool:
        return True

    assert describe(queue_is_empty).endswith("queue_is_empty")
