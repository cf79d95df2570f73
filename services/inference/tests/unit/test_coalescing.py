"""A stream's chunks are sent together when they come faster than the window; none is lost or reordered."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from agentmesh_inference.domain.coalescing import coalesced
from agentmesh_inference.domain.models import Chunk, FinishReason, Usage

LAST = Chunk("!", (9,), FinishReason.STOP, Usage(prompt_tokens=3, completion_tokens=5))


Events = list[tuple[float, Chunk]]


async def timed_stream(events: Events, now: list[float], closed: list[bool]) -> AsyncGenerator[Chunk]:
    try:
        for at, chunk in events:
            now[0] = at
            yield chunk
    finally:
        closed.append(True)


async def sent(events: Events, window: float) -> Events:
    now, closed = [0.0], []
    out = [(now[0], chunk) async for chunk in coalesced(timed_stream(events, now, closed), window, lambda: now[0])]
    assert closed == [True]
    return out


async def test_the_first_goes_at_once_the_fast_ones_together_and_the_last_at_once() -> None:
    events = [(0.000, Chunk("a", (1,))), (0.005, Chunk("b", (2,))), (0.010, Chunk("c", (3,))),
              (0.021, Chunk("d", (4,))), (0.030, LAST)]  # fmt: skip

    out = await sent(events, window=0.02)

    assert [(at, chunk.text, chunk.token_ids) for at, chunk in out] == [
        (0.000, "a", (1,)),
        (0.021, "bcd", (2, 3, 4)),  # held until the window had passed
        (0.030, "!", (9,)),  # the last is not held
    ]
    assert out[-1][1].finish_reason is FinishReason.STOP and out[-1][1].usage == LAST.usage


async def test_held_chunks_go_out_with_the_last() -> None:
    out = await sent([(0.0, Chunk("a", (1,))), (0.001, Chunk("b", (2,))), (0.002, LAST)], window=1.0)

    assert [chunk.text for _, chunk in out] == ["a", "b!"]
    assert out[-1][1].token_ids == (2, 9) and out[-1][1].is_last


async def test_slow_chunks_and_a_zero_window_pass_as_they_come() -> None:
    events = [(0.0, Chunk("a", (1,))), (0.05, Chunk("b", (2,))), (0.10, LAST)]

    assert [chunk for _, chunk in await sent(events, window=0.02)] == [chunk for _, chunk in events]
    fast = [(0.0, Chunk("a", (1,))), (0.0, Chunk("b", (2,))), (0.0, LAST)]
    assert [chunk for _, chunk in await sent(fast, window=0.0)] == [chunk for _, chunk in fast]


async def test_leaving_early_closes_the_stream_it_reads() -> None:
    now, closed = [0.0], []
    chunks = coalesced(timed_stream([(0.0, Chunk("a", (1,))), (0.1, LAST)], now, closed), 0.02, lambda: now[0])
    async for _ in chunks:
        break
    await chunks.aclose()

    assert closed == [True]  # the request upstream is aborted, not left running
