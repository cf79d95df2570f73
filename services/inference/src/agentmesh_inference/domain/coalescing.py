"""Fewer, larger chunks when tokens come fast: one streamed message per window at most.

Every streamed message costs the same to serialise, send and parse whatever it
holds, so when the engine steps faster than `window` (a small model, a busy batch)
the text of the steps in between is sent together. The first chunk goes out at
once (time to first token is untouched), and so does the last (with its finish
reason and usage). A chunk held back waits at most for the engine's next output:
no timer, so a held token is never later than the step after it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Callable

from agentmesh_inference.domain.models import Chunk


def merged(chunks: list[Chunk]) -> Chunk:
    """One chunk with the text and token ids of these, in order, and the last one's ending."""
    if len(chunks) == 1:
        return chunks[0]
    last = chunks[-1]
    return Chunk(
        text="".join(chunk.text for chunk in chunks),
        token_ids=tuple(token for chunk in chunks for token in chunk.token_ids),
        finish_reason=last.finish_reason,
        usage=last.usage,
    )


async def coalesced(
    chunks: AsyncGenerator[Chunk, None], window: float, clock: Callable[[], float] = time.monotonic
) -> AsyncGenerator[Chunk, None]:
    """The same text and token ids in chunks at least `window` seconds apart, but the last (0: as they come)."""
    held: list[Chunk] = []
    next_send = float("-inf")
    async with contextlib.aclosing(chunks):  # an early exit aborts the request upstream
        async for chunk in chunks:
            held.append(chunk)
            now = clock()
            if chunk.is_last or now >= next_send:
                out = merged(held)
                held = []
                next_send = now + window
                yield out
