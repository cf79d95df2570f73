"""The access cache's rules, over a feed the test controls (the real one: tests/api/test_access_replicas.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from agentmesh_core.identity import GlobalRole, ProjectRole
from agentmesh_gateway.accounts.models import Project, User
from agentmesh_gateway.adapters import access_cache
from agentmesh_gateway.adapters.access_cache import AccessCache, project_key, session_key, user_key

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALICE = User("u-alice", "alice", GlobalRole.USER, True, NOW, None)
BOB = User("u-bob", "bob", GlobalRole.USER, True, NOW, None)
PROJECT = Project("p-1", "one", "", None, {}, NOW)


class Feed:
    def __init__(self) -> None:
        self.listening = True
        self.answer = True
        self.syncs = 0

    def begin_sync(self) -> asyncio.Future[bool]:
        self.syncs += 1
        answer = asyncio.get_running_loop().create_future()
        answer.set_result(self.listening and self.answer)
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cache_with(feed: Feed, ttl: float = 10.0, clock: Clock | None = None) -> AccessCache:
    cache = AccessCache(ttl, clock=clock or Clock())
    cache.listen(feed)
    return cache


async def fill(cache: AccessCache) -> None:
    """In tasks of their own, as requests are: each lookup syncs."""

    async def keep() -> None:
        _, generation = await cache.session("s-alice")
        cache.keep_session("s-alice", (ALICE, True), generation)
        _, generation = await cache.session("s-bob")
        cache.keep_session("s-bob", (BOB, True), generation)
        _, generation = await cache.role("p-1", "u-alice")
        cache.keep_role("p-1", "u-alice", (PROJECT, ProjectRole.ADMIN), generation)
        _, generation = await cache.role("p-1", "u-bob")
        cache.keep_role("p-1", "u-bob", (PROJECT, None), generation)

    await asyncio.create_task(keep())


async def looked_up(cache: AccessCache) -> dict[str, object]:
    async def look() -> dict[str, object]:
        return {
            "s-alice": (await cache.session("s-alice"))[0],
            "s-bob": (await cache.session("s-bob"))[0],
            "alice in p-1": (await cache.role("p-1", "u-alice"))[0],
            "bob in p-1": (await cache.role("p-1", "u-bob"))[0],
        }

    return await asyncio.create_task(look())


async def test_what_is_kept_is_served_after_a_sync() -> None:
    feed = Feed()
    cache = cache_with(feed)
    await fill(cache)
    assert await looked_up(cache) == {
        "s-alice": (ALICE, True),
        "s-bob": (BOB, True),
        "alice in p-1": (PROJECT, ProjectRole.ADMIN),
        "bob in p-1": (PROJECT, None),
    }


async def test_the_lookups_of_one_request_share_one_sync() -> None:
    feed = Feed()
    cache = cache_with(feed)
    await fill(cache)
    syncs = feed.syncs
    await looked_up(cache)  # four lookups in one task
    assert feed.syncs == syncs + 1


async def test_nothing_is_served_or_kept_while_the_feed_cannot_sync() -> None:
    feed = Feed()
    cache = cache_with(feed)
    await fill(cache)
    feed.answer = False
    assert set((await looked_up(cache)).values()) == {None}
    feed.answer, feed.listening = True, False
    assert set((await looked_up(cache)).values()) == {None}
    feed.listening = True
    cache.clear()
    feed.listening = False
    await fill(cache)  # refused: not listening
    feed.listening = True
    assert set((await looked_up(cache)).values()) == {None}


async def test_forgetting_a_user_drops_their_sessions_and_roles_only() -> None:
    cache = cache_with(Feed())
    await fill(cache)
    cache.forget(user_key("u-alice"))
    found = await looked_up(cache)
    assert found["s-alice"] is None and found["alice in p-1"] is None
    assert found["s-bob"] == (BOB, True) and found["bob in p-1"] == (PROJECT, None)


async def test_forgetting_a_session_or_a_project() -> None:
    cache = cache_with(Feed())
    await fill(cache)
    cache.forget(session_key("s-bob"))
    assert (await looked_up(cache))["s-bob"] is None
    cache.forget(project_key("p-1"))
    found = await looked_up(cache)
    assert found["alice in p-1"] is None and found["bob in p-1"] is None
    assert found["s-alice"] == (ALICE, True)


async def test_an_unknown_announcement_drops_everything() -> None:
    cache = cache_with(Feed())
    await fill(cache)
    cache.forget("something-new")
    assert set((await looked_up(cache)).values()) == {None}


async def test_a_read_that_began_before_a_change_is_not_kept() -> None:
    cache = cache_with(Feed())

    async def racing_fill() -> None:
        _, generation = await cache.session("s-alice")
        cache.forget(user_key("u-bob"))  # any change heard while the database was being read
        cache.keep_session("s-alice", (ALICE, True), generation)

    await asyncio.create_task(racing_fill())
    assert (await looked_up(cache))["s-alice"] is None


async def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = cache_with(Feed(), ttl=10, clock=clock)
    await fill(cache)
    clock.now += 9.9
    assert (await looked_up(cache))["s-alice"] == (ALICE, True)
    clock.now += 0.2
    assert set((await looked_up(cache)).values()) == {None}


async def test_a_ttl_of_zero_keeps_nothing() -> None:
    feed = Feed()
    cache = cache_with(feed, ttl=0)
    await fill(cache)
    assert set((await looked_up(cache)).values()) == {None}
    assert feed.syncs == 0


async def test_a_full_cache_lets_the_oldest_go() -> None:
    cache = AccessCache(10, max_entries=2, clock=Clock())
    cache.listen(Feed())

    async def keep_three() -> None:
        for name in ("a", "b", "c"):
            _, generation = await cache.session(name)
            cache.keep_session(name, (ALICE, True), generation)

    await asyncio.create_task(keep_three())

    async def kept() -> list[str]:
        return [name for name in ("a", "b", "c") if (await cache.session(name))[0] is not None]

    assert await asyncio.create_task(kept()) == ["b", "c"]


async def test_a_sync_begun_as_the_request_arrived_serves_its_lookups() -> None:
    feed = Feed()
    cache = cache_with(feed)
    await fill(cache)
    syncs = feed.syncs

    async def request() -> dict[str, object]:
        cache.begin_sync()  # what AccessSyncMiddleware does
        return await looked_up(cache)

    assert (await asyncio.create_task(request()))["s-alice"] == (ALICE, True)
    assert feed.syncs == syncs + 1  # the begun sync, and no other


async def test_a_begun_sync_that_fails_serves_nothing() -> None:
    feed = Feed()
    cache = cache_with(feed)
    await fill(cache)

    async def request() -> object:
        feed.answer = False
        cache.begin_sync()
        feed.answer = True  # too late: the begun sync already failed
        return (await cache.session("s-alice"))[0]

    assert await asyncio.create_task(request()) is None  # read from the database instead


async def test_a_begun_sync_too_old_to_trust_is_replaced_by_a_fresh_one() -> None:
    feed = Feed()
    cache = cache_with(feed)
    await fill(cache)
    syncs = feed.syncs

    async def long_request() -> object:
        cache.begin_sync()
        began, answer = access_cache._begun.get() or (0.0, None)
        access_cache._begun.set((began - 2 * access_cache.SYNC_REUSE_SECONDS, answer))  # as if begun long ago
        return (await cache.session("s-alice"))[0]

    assert await asyncio.create_task(long_request()) == (ALICE, True)
    assert feed.syncs == syncs + 2  # the old one was not trusted: a new one was made
