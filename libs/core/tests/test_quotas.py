"""Rate and concurrency limits: refusals carry a retry time and do not count."""

from __future__ import annotations

import time

import pytest

from agentmesh_core.errors import ResourceExhausted
from agentmesh_core.quotas import ConcurrencyLimit, RateLimit, parse_rate, retry_after_header


def test_rate_limit_refuses_past_the_window_with_a_retry_time() -> None:
    limit = RateLimit("2/minute", "things")
    limit.acquire("a")
    limit.acquire("a")
    with pytest.raises(ResourceExhausted, match="too many things") as refused:
        limit.acquire("a")
    assert 0 < (refused.value.retry_after or 0) <= 60
    limit.acquire("b")  # keys are counted apart


def test_refusals_do_not_count_and_the_window_moves() -> None:
    limit = RateLimit("1/second", "things")
    limit.acquire("a")
    for _ in range(5):
        with pytest.raises(ResourceExhausted):
            limit.acquire("a")
    time.sleep(1.05)
    limit.acquire("a")  # refused attempts did not keep the window full


def test_every_window_must_have_room_and_clear_forgets() -> None:
    limit = RateLimit("10/second;3/minute", "things")
    for _ in range(3):
        limit.acquire("a")
    assert limit.retry_after("a") > 1  # the minute window is the one that is full
    limit.clear("a")
    assert limit.retry_after("a") == 0


def test_malformed_specs_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_rate("lots")


def test_concurrency_limit_refuses_one_more_and_frees_slots() -> None:
    limit = ConcurrencyLimit(2, "adds")
    with limit.slot("p"), limit.slot("p"):
        assert limit.in_flight("p") == 2
        with pytest.raises(ResourceExhausted, match="too many adds in progress"), limit.slot("p"):
            pass
        with limit.slot("q"):  # another key has its own slots
            pass
    assert limit.in_flight("p") == 0


def test_retry_after_header_is_whole_seconds_at_least_one() -> None:
    assert [retry_after_header(s) for s in (None, 0.01, 1.0, 1.2, 59.9)] == ["1", "1", "1", "2", "60"]


def test_keys_that_went_quiet_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentmesh_core import quotas

    now = [1000.0]
    monkeypatch.setattr(quotas.time, "monotonic", lambda: now[0])
    limit = RateLimit("1/second;2/minute", "things")
    for i in range(5000):  # a flood of fresh keys (usernames, addresses)
        limit.acquire(f"key-{i}")
    windows = limit._windows
    assert isinstance(windows, quotas._MemoryWindows) and len(windows) == 5000
    now[0] += 61  # every key's longest window has passed
    for i in range(2048):
        limit.acquire(f"later-{i}")
    assert len(windows) <= 2048  # the quiet ones are gone: memory follows the active keys
    assert limit.retry_after("key-1") == 0


def test_a_shared_limits_storage_can_hold_the_windows() -> None:
    from agentmesh_core.quotas import _LibraryWindows

    windows = _LibraryWindows(parse_rate("2/minute"), "memory://")
    windows.hit("a")
    windows.hit("a")
    assert 0 < windows.retry_after("a") <= 60
    windows.clear("a")
    assert windows.retry_after("a") == 0
