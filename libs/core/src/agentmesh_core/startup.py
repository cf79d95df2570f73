"""Waiting for dependencies at start-up: one backoff loop, and a clean way out on stop.

Services start before their dependencies (PostgreSQL, NATS, Temporal, a model)
are ready, and may be told to stop while they wait. `wait_for` retries a step
with exponential backoff; both it and `unless_stopped` raise `Stopped` as soon
as the stop event is set, so a service gives up waiting without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Stopped(Exception):
    """Stop was asked for while waiting; the service shuts down without serving."""


async def unless_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T:
    """Await work, or cancel it and raise Stopped as soon as stop is set.

    Wrap work in asyncio.shield() to keep it running past the stop (e.g. a
    model load in a thread that cannot be interrupted).
    """
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled() and stop.is_set():
        raise Stopped
    return task.result()


async def wait_for(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    stop: asyncio.Event,
    *,
    timeout: float | None = None,
    retry_on: tuple[type[Exception], ...] = (Exception,),
    first_delay: float = 0.5,
    max_delay: float = 10.0,
) -> T:
    """Retry attempt() with exponential backoff until it succeeds.

    Raises Stopped when stop is set (even mid-attempt), TimeoutError once
    `timeout` seconds have passed, and at once any error not in retry_on.
    """
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    delay = first_delay
    while True:
        try:
            return await unless_stopped(stop, attempt())
        except retry_on as error:
            if isinstance(error, Stopped):
                raise
            if deadline is not None and loop.time() >= deadline:
                raise TimeoutError(f"{what} not ready after {timeout:g}s") from error
            log.warning("waiting for %s (%s); retrying in %.1fs", what, type(error).__name__, delay)
        if deadline is not None:
            delay = max(0.0, min(delay, deadline - loop.time()))
        await unless_stopped(stop, asyncio.sleep(delay))
        delay = min(delay * 2, max_delay)
