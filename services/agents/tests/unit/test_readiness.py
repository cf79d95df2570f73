"""Waiting for the services a turn needs: bounded by time, never by deliveries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.models import EventType, MessageStatus
from agentmesh_agents.domain.processor import MessageProcessor
from agentmesh_agents.domain.readiness import Dependency, Outage, Readiness
from agentmesh_core.errors import Unavailable
from agentmesh_devstack.waiting import eventually

from .conftest import World


class Switch:
    """A probe the test turns on and off; counts how often it was asked."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.asked = 0

    async def __call__(self) -> bool:
        self.asked += 1
        return self.up


@contextlib.asynccontextmanager
async def checking(readiness: Readiness) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(readiness.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await task


async def test_wait_up_returns_when_the_dependency_comes_back():
    inference = Switch(up=False)
    readiness = Readiness({Dependency.INFERENCE: inference}, wait_seconds=30, interval=0.01)
    async with checking(readiness):
        waiting = asyncio.create_task(readiness.wait_up([Dependency.INFERENCE], timeout=30))
        await eventually(lambda: inference.asked >= 3, timeout=10, what="a few checks while it is down")
        assert not waiting.done()
        inference.up = True
        assert await asyncio.wait_for(waiting, timeout=10)
    assert readiness.is_up()


async def test_wait_up_gives_up_after_its_timeout():
    readiness = Readiness({Dependency.DATABASE: Switch(up=False)}, wait_seconds=30, interval=0.01)
    async with checking(readiness):
        assert not await readiness.wait_up(timeout=0.2)


async def test_a_probe_that_fails_or_hangs_says_down(monkeypatch):
    async def broken() -> bool:
        raise OSError("connection refused")

    async def hanging() -> bool:
        await asyncio.sleep(60)
        return True

    monkeypatch.setattr("agentmesh_agents.domain.readiness.PROBE_TIMEOUT_SECONDS", 0.05)
    readiness = Readiness({Dependency.DATABASE: broken, Dependency.MEMORY: hanging}, wait_seconds=1)
    await readiness.check()
    assert not readiness.is_up([Dependency.DATABASE])
    assert not readiness.is_up([Dependency.MEMORY])
    assert readiness.is_up([Dependency.INFERENCE])  # not probed: not waited for


async def test_a_failed_call_counts_the_dependency_down_and_asks_again_at_once():
    inference = Switch(up=True)
    readiness = Readiness({Dependency.INFERENCE: inference}, wait_seconds=30, interval=60)
    async with checking(readiness):
        await eventually(lambda: readiness.is_up(), timeout=10, what="the first check")
        inference.up = False
        readiness.went_down(Dependency.INFERENCE)
        assert not readiness.is_up()
        await eventually(lambda: inference.asked >= 2, timeout=10, what="a check right after the failure")


async def test_an_outage_is_bounded_by_the_wait_limit_in_all():
    inference = Switch(up=False)
    readiness = Readiness({Dependency.INFERENCE: inference}, wait_seconds=0.3, interval=0.01)
    async with checking(readiness):
        outage = Outage(readiness, Dependency.INFERENCE)
        started = asyncio.get_running_loop().time()
        assert not await outage.wait()
        assert not await outage.wait()  # the limit counts from the first failure, not per wait
        assert asyncio.get_running_loop().time() - started < 5


async def test_an_outage_that_ends_lets_the_call_go_on():
    inference = Switch(up=False)
    readiness = Readiness({Dependency.INFERENCE: inference}, wait_seconds=30, interval=0.01)
    async with checking(readiness):
        waiting = asyncio.create_task(Outage(readiness, Dependency.INFERENCE).wait())
        await eventually(lambda: inference.asked >= 2, timeout=10, what="checks while it is down")
        inference.up = True
        assert await asyncio.wait_for(waiting, timeout=10)


@pytest.fixture
def database() -> Switch:
    return Switch(up=True)


def with_readiness(world: World, database: Switch, wait_seconds: float) -> Readiness:
    readiness = Readiness({Dependency.DATABASE: database}, wait_seconds=wait_seconds, interval=0.01)
    world.processor = MessageProcessor(
        world.messages,
        EventPublisher(world.events, world.clock),
        world.inference,
        world.prompts,
        world.limits,
        world.clock,
        react=world.react,
        readiness=readiness,
    )
    return readiness


async def test_a_database_outage_is_waited_out_in_the_same_delivery(world, database):
    readiness = with_readiness(world, database, wait_seconds=30)
    agent = await world.agent()
    request = await world.send(agent)
    reads = {"n": 0}
    real = world.messages.delivery_state

    async def flaky(*args, **kwargs):
        reads["n"] += 1
        if reads["n"] == 1:
            database.up = False
            asyncio.get_running_loop().call_later(0.2, setattr, database, "up", True)
            raise Unavailable("database unavailable")
        return await real(*args, **kwargs)

    world.messages.delivery_state = flaky
    async with checking(readiness):
        outcome = await world.process(request)

    assert outcome.done  # one delivery: no nak, no attempt spent
    assert reads["n"] == 2
    assert (await world.stored(request)).status is MessageStatus.COMPLETE


async def test_a_database_outage_past_the_limit_hands_the_message_back(world, database):
    readiness = with_readiness(world, database, wait_seconds=0.2)
    agent = await world.agent()
    request = await world.send(agent)

    async def down(*_args, **_kwargs):
        database.up = False
        raise Unavailable("database unavailable")

    world.messages.delivery_state = down
    async with checking(readiness):
        outcome = await world.process(request)

    assert not outcome.done
    assert outcome.delay == world.limits.storage_retry_seconds


async def test_a_database_outage_after_tokens_restarts_the_turn_with_a_reset(world, database):
    readiness = with_readiness(world, database, wait_seconds=30)
    agent = await world.agent()
    request = await world.send(agent)
    real = world.messages.complete_with_reply
    failures = {"n": 0}

    async def flaky(*args):
        if not failures["n"]:
            failures["n"] += 1
            raise Unavailable("database unavailable")
        return await real(*args)

    world.messages.complete_with_reply = flaky
    async with checking(readiness):
        assert (await world.process(request)).done

    kinds = [e.type for e in world.events.of(request.conversation_id)]
    assert kinds.count(EventType.RESET) == 1
    assert kinds.index(EventType.RESET) > kinds.index(EventType.TOKEN)  # tokens of the cut-off try came first
    assert kinds[-1] is EventType.REPLY
    assert len([m for m in world.messages.messages.values() if m.parent_id == request.id]) == 1
