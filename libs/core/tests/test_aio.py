"""wait_set: an event or a time limit, and a cancellation that is never lost."""

from __future__ import annotations

import asyncio

import pytest

from agentmesh_core.aio import wait_set


async def test_it_answers_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert not await wait_set(event, 0.01)
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_set(event, 10)
    assert await wait_set(event, None)


async def test_a_cancellation_that_comes_as_the_event_is_set_ends_the_task() -> None:
    """The case asyncio.wait_for gets wrong on Python 3.11: it returns, and the loop goes on."""
    event = asyncio.Event()
    rounds = 0

    async def wait_in_a_loop() -> None:
        nonlocal rounds
        while True:
            await wait_set(event, 10)
            event.clear()
            rounds += 1

    task = asyncio.create_task(wait_in_a_loop())
    await asyncio.sleep(0)  # now waiting
    event.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):  # a lost cancellation would loop on: a TimeoutError, not this
            await task
    assert rounds == 0
