"""asyncio helpers.

Time limits are set with `asyncio.timeout`, never `asyncio.wait_for`: on Python
3.11, `wait_for` swallows a cancellation that arrives just as what it waits for
completes, so a task cancelled at that moment goes on (a loop waiting for its stop
event keeps looping, and whoever awaits the cancelled task hangs). `asyncio.timeout`
also runs what it limits in the caller's task instead of a task of its own.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_set(event: asyncio.Event, seconds: float | None) -> bool:
    """Wait until event is set or seconds have passed (None: no limit); whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
