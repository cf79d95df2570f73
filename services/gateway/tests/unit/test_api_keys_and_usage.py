"""ApiKeys and UsageLedger over in-memory stores: the auth cache, revocation, and batched usage writes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from agentmesh_core.errors import InvalidInput, NotFound, Unauthenticated
from agentmesh_gateway.accounts.api_keys import ApiKey, ApiKeys, key_hash
from agentmesh_gateway.accounts.usage import UsageLedger, UsageRow

NOW = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)


class Keys:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[ApiKey, str]] = {}
        self.lookups = 0

    async def add(self, key: ApiKey, digest: str) -> None:
        self.rows[key.id] = (key, digest)

    async def count_active(self, project_id: str) -> int:
        return len(await self.list_active(project_id))

    async def list_active(self, project_id: str) -> list[ApiKey]:
        return [k for k, _ in self.rows.values() if k.project_id == project_id and k.revoked_at is None]

    async def by_hash(self, digest: str) -> ApiKey | None:
        self.lookups += 1
        return next((k for k, d in self.rows.values() if d == digest), None)

    async def revoke(self, project_id: str, key_id: str, at: datetime) -> bool:
        found = self.rows.get(key_id)
        if found is None or found[0].project_id != project_id or found[0].revoked_at is not None:
            return False
        key, digest = found
        self.rows[key_id] = (replace(key, revoked_at=at), digest)
        return True

    async def touch(self, key_id: str, at: datetime) -> None:
        pass


def ids():
    counter = iter(range(1000))
    return lambda: f"key-{next(counter)}"


async def test_keys_are_cached_briefly_and_a_revocation_here_is_immediate():
    store = Keys()
    keys = ApiKeys(store, ids(), clock=lambda: NOW)
    issued = await keys.create("p", "u", " ci ", None)
    assert issued.key.name == "ci" and store.rows[issued.key.id][1] == key_hash(issued.secret)
    for _ in range(5):
        assert (await keys.authenticate(issued.secret)).id == issued.key.id
    assert store.lookups == 1
    await keys.revoke("p", issued.key.id)
    with pytest.raises(Unauthenticated):
        await keys.authenticate(issued.secret)
    with pytest.raises(NotFound):
        await keys.revoke("p", issued.key.id)
    await keys.drain()


async def test_a_burst_with_a_key_not_cached_reads_the_store_once():
    store = Keys()
    keys = ApiKeys(store, ids(), clock=lambda: NOW)
    issued = await keys.create("p", "u", "ci", None)
    reading, lookup = asyncio.Event(), store.by_hash

    async def slow_lookup(digest: str) -> ApiKey | None:
        await reading.wait()
        return await lookup(digest)

    store.by_hash = slow_lookup
    burst = [asyncio.create_task(keys.authenticate(issued.secret)) for _ in range(16)]
    await asyncio.sleep(0)
    burst[0].cancel()  # one caller going away does not fail the others
    reading.set()
    results = await asyncio.gather(*burst, return_exceptions=True)

    assert isinstance(results[0], asyncio.CancelledError)
    assert {key.id for key in results[1:]} == {issued.key.id}
    assert store.lookups == 1
    await keys.drain()


async def test_a_read_begun_before_a_revocation_is_not_cached():
    store = Keys()
    keys = ApiKeys(store, ids(), clock=lambda: NOW)
    issued = await keys.create("p", "u", "ci", None)
    read, reading, lookup = asyncio.Event(), asyncio.Event(), store.by_hash

    async def read_then_wait(digest: str) -> ApiKey | None:
        found = await lookup(digest)  # the row as it was: not yet revoked
        read.set()
        await reading.wait()
        return found

    store.by_hash = read_then_wait
    racing = asyncio.create_task(keys.authenticate(issued.secret))
    await read.wait()
    await keys.revoke("p", issued.key.id)
    reading.set()
    await racing  # that call began before the revocation
    store.by_hash = lookup

    with pytest.raises(Unauthenticated):
        await keys.authenticate(issued.secret)  # the stale read was not cached
    await keys.drain()


async def test_expiry_and_bad_keys():
    now = [NOW]
    keys = ApiKeys(Keys(), ids(), clock=lambda: now[0])
    issued = await keys.create("p", "u", "short", NOW + timedelta(minutes=5))
    await keys.authenticate(issued.secret)
    now[0] = NOW + timedelta(minutes=6)
    with pytest.raises(Unauthenticated):
        await keys.authenticate(issued.secret)  # the cached key has expired too
    for secret in ("", "amk_nope", "eyJ.x.y"):
        with pytest.raises(Unauthenticated):
            await keys.authenticate(secret)
    with pytest.raises(InvalidInput):
        await keys.create("p", "u", "old", NOW - timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        await keys.create("p", "u", "   ", None)
    await keys.drain()


class Usage:
    def __init__(self) -> None:
        self.writes: list[tuple] = []

    async def add(self, project_id, day, key_id, user_id, prompt, completion, requests) -> None:
        self.writes.append((project_id, day, key_id, user_id, prompt, completion, requests))

    async def rows(self, project_id: str, since: date) -> list[UsageRow]:
        return [UsageRow(w[1], w[2], "ci" if w[2] else None, None, w[3], w[4], w[5], w[6])
                for w in self.writes if w[0] == project_id and w[1] >= since]  # fmt: skip


async def test_usage_is_summed_per_caller_and_written_together():
    store = Usage()
    ledger = UsageLedger(store, clock=lambda: NOW, flush_seconds=60)
    for _ in range(10):
        ledger.record("p", "k1", None, 3, 5)
    ledger.record("p", None, "u1", 1, 1)
    assert store.writes == []  # nothing written per call
    report = await ledger.report("p", days=7)
    assert sorted(store.writes, key=str) == sorted(
        [("p", NOW.date(), "k1", None, 30, 50, 10), ("p", NOW.date(), None, "u1", 1, 1, 1)], key=str
    )
    assert (report.total.prompt_tokens, report.total.completion_tokens, report.total.requests) == (31, 51, 11)
    assert report.by_caller[("k1", None)].requests == 10
    assert report.since == NOW.date() - timedelta(days=6)
    await ledger.drain()
    assert len(store.writes) == 2  # nothing pending, nothing written twice
