"""The fair queue: pass-through below capacity, round-robin between projects when full."""

from __future__ import annotations

import asyncio

import pytest

from agentmesh_inference.domain.fair_queue import FairQueue


async def test_below_capacity_nothing_waits():
    queue = FairQueue(2)
    async with queue.slot("a"), queue.slot("a"):
        assert queue.active == 2 and queue.queued == 0
    assert queue.active == 0


async def test_a_flooding_project_does_not_starve_another():
    queue = FairQueue(1)
    order: list[str] = []
    release = asyncio.Event()

    async def hold() -> None:
        async with queue.slot("a"):
            await release.wait()

    async def job(project: str, name: str) -> None:
        async with queue.slot(project):
            order.append(name)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    flood = [asyncio.create_task(job("a", f"a{i}")) for i in range(5)]
    await asyncio.sleep(0)
    late = asyncio.create_task(job("b", "b0"))
    await asyncio.sleep(0)
    assert queue.queued == 6
    release.set()
    await asyncio.gather(holder, *flood, late)
    # b arrived after five of a's requests but got the second free slot.
    assert order[:2] == ["a0", "b0"]
    assert order == ["a0", "b0", "a1", "a2", "a3", "a4"]
    assert queue.active == 0 and queue.queued == 0


async def test_a_cancelled_waiter_leaves_the_queue_and_slots_are_not_lost():
    queue = FairQueue(1)
    release = asyncio.Event()

    async def hold() -> None:
        async with queue.slot("a"):
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(queue.slot("b").__aenter__())
    await asyncio.sleep(0)
    assert queue.queued == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert queue.queued == 0
    release.set()
    await holder
    assert queue.active == 0
    async with queue.slot("c"):
        assert queue.active == 1


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        FairQueue(0)
