"""Per-key rate and concurrency limits that answer ResourceExhausted with a retry time.

Rates are moving windows written as `limits` specs ("20/second;600/minute": every
window must have room). Counts live in this process's memory: each replica
admits its own budget, so N replicas admit up to N times it. That is the chosen
trade-off (no shared store on the hot path); a deployment that needs one budget
across replicas can pass a shared `limits` storage URI instead of "memory://".

In memory the windows are kept here (`_MemoryWindows`), not in the `limits`
library's MemoryStorage: that one sweeps every key from a fresh timer thread
10 ms after each hit, which under a flood of new keys (a login flood from many
addresses) cost the gateway's event loop more than the requests themselves.
Here each key holds its last few event times and expires lazily, on access and
in an occasional sweep.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from agentmesh_core.errors import ResourceExhausted

# What a caller refused for concurrency is told to wait: one typical call's time.
CONCURRENCY_RETRY_SECONDS = 1.0


def parse_rate(spec: str) -> list[RateLimitItem]:
    """The windows of a rate spec such as "20/second;600/minute" (ValueError when malformed)."""
    items = parse_many(spec)
    if not items:
        raise ValueError(f"no rate limit in {spec!r}")
    return items


class _Windows(Protocol):
    def retry_after(self, key: str) -> float: ...

    def hit(self, key: str) -> None: ...

    def clear(self, key: str) -> None: ...


class _MemoryWindows:
    """Moving windows in this process's memory, expired lazily (no timer, no thread)."""

    _SWEEP_EVERY = 1024  # hits between sweeps of keys that went quiet

    def __init__(self, items: list[RateLimitItem]) -> None:
        self._windows = [(item.amount, float(item.get_expiry())) for item in items]
        self._longest = max(expiry for _, expiry in self._windows)
        # Only the newest `amount` events can decide a window, so that many per key is enough.
        self._keep = max(amount for amount, _ in self._windows)
        self._events: dict[str, deque[float]] = {}
        self._hits = 0

    def retry_after(self, key: str) -> float:
        events = self._events.get(key)
        if not events:
            return 0.0
        now = time.monotonic()
        wait = 0.0
        for amount, expiry in self._windows:
            # Full when the amount-th newest event is still inside the window.
            if len(events) >= amount and events[-amount] > now - expiry:
                wait = max(wait, events[-amount] + expiry - now, 0.001)
        return wait

    def hit(self, key: str) -> None:
        now = time.monotonic()
        self._events.setdefault(key, deque(maxlen=self._keep)).append(now)
        self._hits += 1
        if self._hits % self._SWEEP_EVERY == 0:
            self._sweep(now)

    def clear(self, key: str) -> None:
        self._events.pop(key, None)

    def _sweep(self, now: float) -> None:
        quiet = [key for key, events in self._events.items() if events[-1] <= now - self._longest]
        for key in quiet:
            del self._events[key]

    def __len__(self) -> int:
        return len(self._events)


class _LibraryWindows:
    """Moving windows in a `limits` storage (a shared one, for one budget across replicas)."""

    def __init__(self, items: list[RateLimitItem], storage_uri: str) -> None:
        self._items = items
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def retry_after(self, key: str) -> float:
        wait = 0.0
        for item in self._items:
            if not self._limiter.test(item, key):
                reset = self._limiter.get_window_stats(item, key).reset_time
                wait = max(wait, reset - time.time(), 0.001)
        return wait

    def hit(self, key: str) -> None:
        for item in self._items:
            self._limiter.hit(item, key)

    def clear(self, key: str) -> None:
        for item in self._items:
            self._limiter.clear(item, key)


class RateLimit:
    """Admits at most the spec's rate per key; refusals do not count against the key."""

    def __init__(self, spec: str, what: str, storage_uri: str = "memory://") -> None:
        items = parse_rate(spec)
        self._windows: _Windows = (
            _MemoryWindows(items) if storage_uri == "memory://" else _LibraryWindows(items, storage_uri)
        )
        self._what = what

    def retry_after(self, key: str) -> float:
        """Seconds until key may be admitted again; 0 when it may be now."""
        return self._windows.retry_after(key)

    def hit(self, key: str) -> None:
        """Count one event for key (whether or not it was admitted)."""
        self._windows.hit(key)

    def acquire(self, key: str) -> None:
        """Count one event for key, or raise ResourceExhausted when a window is full."""
        wait = self.retry_after(key)
        if wait:
            raise ResourceExhausted(f"too many {self._what}; retry later", retry_after=wait)
        self.hit(key)

    def clear(self, key: str) -> None:
        """Forget key's events (a success that ends a run of failures)."""
        self._windows.clear(key)


class ConcurrencyLimit:
    """At most `limit` calls in flight per key; one more is refused, not queued."""

    def __init__(self, limit: int, what: str) -> None:
        if limit < 1:
            raise ValueError("a concurrency limit is at least 1")
        self._limit = limit
        self._what = what
        self._in_flight: dict[str, int] = {}

    def in_flight(self, key: str) -> int:
        """How many calls of key are running."""
        return self._in_flight.get(key, 0)

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold one of key's slots for the block; ResourceExhausted when none is free."""
        if self.in_flight(key) >= self._limit:
            raise ResourceExhausted(
                f"too many {self._what} in progress; retry later", retry_after=CONCURRENCY_RETRY_SECONDS
            )
        self._in_flight[key] = self.in_flight(key) + 1
        try:
            yield
        finally:
            left = self._in_flight[key] - 1
            if left:
                self._in_flight[key] = left
            else:
                del self._in_flight[key]


def retry_after_header(seconds: float | None) -> str:
    """A Retry-After value (whole seconds, at least 1)."""
    return str(max(1, math.ceil(seconds or 1)))
