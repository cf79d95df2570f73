"""Waiting in tests: `eventually()` for what must happen, `never()` for what must not.

Every poll in the test suite goes through these, so a timeout always says what
was awaited and what was seen last, and no test sleeps a fixed time and hopes.

    await eventually(lambda: state.open_streams == 0, what="the upstream stream to close")
    reply = await eventually(fetch_reply, timeout=30, what="the agent's reply")   # async fn: awaited
    eventually_sync(lambda: mesh.readiness()[0] == 200, timeout=120, what="readiness")

A predicate is done when it returns something truthy (that value is returned);
returning something falsy or raising AssertionError means "not yet" (so a
predicate may use plain asserts). Any other exception fails at once.

`never()` is for the rare negative check with no later positive event to wait
for instead: it polls for the whole window and fails the moment the condition
holds. Prefer a deterministic signal (e.g. wait for an event that must come
after the one that must not happen) and say in a comment why none exists.
"""

from __future__ import annotations

import asyncio
import inspect
import linecache
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
DEFAULT_INTERVAL = 0.05


def describe(predicate: Callable[..., Any]) -> str:
    """A readable name for a predicate: a lambda's body from its source, else its qualified name."""
    name = getattr(predicate, "__qualname__", repr(predicate))
    code = getattr(predicate, "__code__", None)
    if not name.endswith("<lambda>") or code is None:
        return name
    spans = [p for p in code.co_positions() if None not in p and (p[0], p[2]) != (p[1], p[3])]
    lines = linecache.getlines(code.co_filename)
    if not spans or not lines:
        return name
    (first, start), (last, end) = min((p[0], p[2]) for p in spans), max((p[1], p[3]) for p in spans)
    text = lines[first - 1][start:] + "".join(lines[first : last - 1]) if last > first else ""
    text = text + lines[last - 1][:end] if last > first else lines[first - 1][start:end]
    return "lambda: " + " ".join(text.split())


def _timeout_error(what: str, timeout: float, last: object, error: AssertionError | None) -> AssertionError:
    detail = f"; last check failed: {error}" if error is not None else f"; last result: {last!r}"
    return AssertionError(f"timed out after {timeout:g}s waiting for {what}{detail}")


async def eventually(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    what: str | None = None,
) -> T:
    """Poll `predicate` (sync or async) until it returns something truthy; return that value.

    Raises AssertionError naming `what` (default: the predicate's source) after `timeout` seconds.
    """
    what = what or describe(predicate)
    deadline = time.monotonic() + timeout
    last: object = None
    error: AssertionError | None = None
    while True:
        try:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            last, error = result, None
        except AssertionError as failed:
            error = failed
        if time.monotonic() >= deadline:
            raise _timeout_error(what, timeout, last, error) from error
        await asyncio.sleep(interval)


def eventually_sync(
    predicate: Callable[[], T],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    what: str | None = None,
) -> T:
    """`eventually()` for code without an event loop (e2e tests driving real processes)."""
    what = what or describe(predicate)
    deadline = time.monotonic() + timeout
    last: object = None
    error: AssertionError | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
            last, error = result, None
        except AssertionError as failed:
            error = failed
        if time.monotonic() >= deadline:
            raise _timeout_error(what, timeout, last, error) from error
        time.sleep(interval)


async def never(
    predicate: Callable[[], object | Awaitable[object]],
    *,
    within: float,
    why: str,
    interval: float = DEFAULT_INTERVAL,
    what: str | None = None,
) -> None:
    """Check for `within` seconds that `predicate` stays falsy; fail as soon as it holds.

    `why` says why no positive signal could be awaited instead; it is part of
    the failure message so a reader sees the reasoning.
    """
    what = what or describe(predicate)
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            raise AssertionError(f"{what} happened (returned {result!r}) within {within:g}s; it must not ({why})")
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(interval)
