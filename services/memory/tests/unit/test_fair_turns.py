"""Fair turns on the model thread: waiting queries first, then bulk owners round robin;
cancelled waiters never wedge the resource."""

from __future__ import annotations

import asyncio

from agentmesh_memory.adapters.fair_turns import FairTurns


async def _step(turns: FairTurns, owner: str | None, name: str, order: list[str]) -> None:
    async with turns.turn(owner):
        order.append(name)
        await asyncio.sleep(0)


async def _queued(turns: FairTurns, count: int) -> None:
    for _ in range(100):
        if turns.waiting == count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"expected {count} waiting, have {turns.waiting}")


async def test_queries_go_first_then_bulk_owners_take_turns() -> None:
    turns, order = FairTurns(), []
    release = asyncio.Event()

    async def holder() -> None:
        async with turns.turn("busy"):
            await release.wait()

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    # Project A queues three batches before B queues one and a query arrives last.
    steps = [asyncio.create_task(_step(turns, "A", f"A{i}", order)) for i in range(3)]
    await _queued(turns, 3)
    steps.append(asyncio.create_task(_step(turns, "B", "B0", order)))
    await _queued(turns, 4)
    steps.append(asyncio.create_task(_step(turns, None, "query", order)))
    await _queued(turns, 5)

    release.set()
    await asyncio.gather(held, *steps)
    assert order == ["query", "A0", "B0", "A1", "A2"]
    assert turns.waiting == 0


async def test_a_free_resource_is_taken_at_once() -> None:
    turns, order = FairTurns(), []
    await _step(turns, "A", "A", order)
    await _step(turns, None, "query", order)
    assert order == ["A", "query"]


async def test_cancelled_waiters_leave_the_queue_and_the_turn_moves_on() -> None:
    turns, order = FairTurns(), []
    release = asyncio.Event()

    async def holder() -> None:
        async with turns.turn("A"):
            await release.wait()

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    doomed = asyncio.create_task(_step(turns, "B", "doomed", order))
    survivor = asyncio.create_task(_step(turns, None, "query", order))
    await _queued(turns, 2)
    doomed.cancel()
    await asyncio.gather(doomed, return_exceptions=True)
    assert turns.waiting == 1

    release.set()
    await asyncio.gather(held, survivor)
    assert order == ["query"]
    await asyncio.wait_for(_step(turns, "C", "after", order), 1)  # not wedged
    assert order == ["query", "after"]


async def test_a_waiter_cancelled_as_its_turn_comes_passes_the_turn_on() -> None:
    turns, order = FairTurns(), []
    holding = turns.turn("A")
    await holding.__aenter__()
    first = asyncio.create_task(_step(turns, "B", "first", order))
    second = asyncio.create_task(_step(turns, "C", "second", order))
    await _queued(turns, 2)
    await holding.__aexit__(None, None, None)  # hands the turn to `first`, which has not run yet
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1)
    assert order == ["second"]
