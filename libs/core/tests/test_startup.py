"""wait_for and unless_stopped: the one way every service waits for its dependencies."""

from __future__ import annotations

import asyncio

import pytest

from agentmesh_core.startup import Stopped, unless_stopped, wait_for


async def test_retries_with_backoff_until_the_attempt_succeeds() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def attempt() -> str:
        calls.append(loop.time())
        if len(calls) < 3:
            raise ConnectionError("not yet")
        return "ready"

    assert await wait_for("thing", attempt, asyncio.Event(), first_delay=0.01) == "ready"
    assert len(calls) == 3
    assert calls[2] - calls[1] >= calls[1] - calls[0]  # the delay grows


async def test_an_error_it_does_not_retry_on_is_raised_at_once() -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug, not a dependency")

    with pytest.raises(ValueError):
        await wait_for("thing", attempt, asyncio.Event(), retry_on=(ConnectionError,), first_delay=0.01)
    assert calls == 1


async def test_gives_up_after_the_timeout() -> None:
    async def attempt() -> None:
        raise ConnectionError("down")

    with pytest.raises(TimeoutError, match=r"thing not ready after 0\.1s"):
        await asyncio.wait_for(wait_for("thing", attempt, asyncio.Event(), timeout=0.1, first_delay=0.02), 5)


async def test_stop_ends_the_wait_even_mid_attempt() -> None:
    stop = asyncio.Event()
    started = asyncio.Event()

    async def attempt() -> None:
        started.set()
        await asyncio.sleep(60)

    waiting = asyncio.create_task(wait_for("thing", attempt, stop))
    await started.wait()
    stop.set()
    with pytest.raises(Stopped):
        await asyncio.wait_for(waiting, 5)


async def test_stop_ends_the_wait_between_attempts() -> None:
    stop = asyncio.Event()

    async def attempt() -> None:
        stop.set()
        raise ConnectionError("down")

    with pytest.raises(Stopped):
        await asyncio.wait_for(wait_for("thing", attempt, stop, first_delay=30), 5)


async def test_unless_stopped_keeps_shielded_work_running() -> None:
    stop = asyncio.Event()
    release = asyncio.Event()

    async def load() -> str:
        await release.wait()
        return "model"

    loading = asyncio.create_task(load())
    stop.set()
    with pytest.raises(Stopped):
        await unless_stopped(stop, asyncio.shield(loading))
    assert not loading.done()
    release.set()
    assert await loading == "model"


async def test_unless_stopped_returns_what_finished_first() -> None:
    assert await unless_stopped(asyncio.Event(), asyncio.sleep(0, result=7)) == 7
