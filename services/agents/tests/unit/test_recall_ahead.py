"""A sent message's memory search starts as it is accepted, alongside its insert; its turn takes it."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from agentmesh_agents.domain.models import EventType
from agentmesh_agents.domain.recall_ahead import RecallAhead
from agentmesh_core.errors import NotFound, Unavailable
from agentmesh_core.ids import new_id

from .conftest import PROJECT

ENTRY = "The office opens at 9."


def _system_prompt(world) -> str:
    return world.inference.calls[-1].turns[0].content


async def _settled() -> None:
    for _ in range(5):  # the search's task: the presence look, then the search
        await asyncio.sleep(0)


async def test_the_search_starts_when_the_message_is_sent_and_its_turn_takes_it(world) -> None:
    world.memory.entries = [ENTRY]
    agent = await world.agent()

    request = await world.send(agent, "When does the office open?")
    await _settled()
    searched_before_the_turn = list(world.memory.queries)
    assert (await world.process(request)).done

    k = world.limits.memory_hits
    assert searched_before_the_turn == [(PROJECT, agent.id, "When does the office open?", k)]
    assert len(world.memory.queries) == 1  # the turn did not search again
    assert ENTRY in _system_prompt(world)


def _slow_inserts(world) -> list:
    """Make each insert take a few turns of the loop (a round trip); returns the searches seen during them."""
    store = world.messages.add
    searched_while_storing: list = []

    async def storing(message):
        await _settled()
        searched_while_storing.extend(world.memory.queries)
        return await store(message)

    world.messages.add = storing
    return searched_while_storing


async def test_the_search_runs_while_the_message_is_stored(world) -> None:
    world.memory.entries = [ENTRY]
    agent = await world.agent()
    searched_while_storing = _slow_inserts(world)
    request = await world.send(agent, "When does the office open?")
    assert (await world.process(request)).done

    k = world.limits.memory_hits
    assert searched_while_storing == [(PROJECT, agent.id, "When does the office open?", k)]
    assert len(world.memory.queries) == 1  # the turn took that search
    assert ENTRY in _system_prompt(world)


async def test_the_search_of_a_message_that_is_not_stored_is_cancelled(world) -> None:
    world.memory.entries = [ENTRY]
    running: list[str] = []

    async def searching(project_id: str, agent_id: str, query: str, k: int) -> list[str]:
        running.append(query)
        try:
            await asyncio.Event().wait()
        finally:
            running.remove(query)
        return []

    world.memory.search = searching
    _slow_inserts(world)  # the searches start while the message is stored
    agent = await world.agent()

    first = await world.send(agent, "first", idempotency_key="once")
    repeat = await world.send(agent, "repeat", idempotency_key="once")
    with pytest.raises(NotFound):
        await world.send(dataclasses.replace(agent, id=new_id()), "to nobody")
    await _settled()

    assert repeat.id == first.id
    assert running == ["first"]  # the repeat's and the refused message's searches were cancelled


async def test_without_searches_ahead_the_turn_searches(world) -> None:
    world.limits = dataclasses.replace(world.limits, recall_ahead_seconds=0)
    world.rewire()
    world.memory.entries = [ENTRY]
    agent = await world.agent()

    request = await world.send(agent, "When does the office open?")
    await _settled()
    assert world.memory.queries == []
    assert (await world.process(request)).done

    assert len(world.memory.queries) == 1
    assert ENTRY in _system_prompt(world)


async def test_a_search_ahead_that_failed_is_reported_by_the_turn(world) -> None:
    world.memory.entries = [ENTRY]
    world.memory.error = Unavailable("memory down")
    agent = await world.agent()

    request = await world.send(agent)
    await _settled()
    world.memory.error = None  # back up: the turn still takes the failed search, it does not search again
    assert EventType.RECALL_SKIPPED not in [e.type for e in world.events.of(request.conversation_id)]
    assert (await world.process(request)).done

    assert EventType.RECALL_SKIPPED in [e.type for e in world.events.of(request.conversation_id)]
    assert ENTRY not in _system_prompt(world)


async def _found(*entries: str) -> list[str]:
    return list(entries)


async def _never() -> list[str]:
    await asyncio.Event().wait()
    return []


async def test_a_search_is_taken_once_by_its_message_and_agent() -> None:
    ahead = RecallAhead(max_age=5.0)
    ahead.start("m1", "agent-a", _found("fact"))

    assert ahead.take("m1", "agent-b") is None  # another agent's turn never takes it
    assert ahead.take("m1", "agent-a") is None  # and it was dropped

    ahead.start("m2", "agent-a", _found("fact"))
    taken = ahead.take("m2", "agent-a")
    assert taken is not None and await taken == ["fact"]
    assert ahead.take("m2", "agent-a") is None and len(ahead) == 0


async def test_a_stale_search_is_cancelled_and_the_turn_searches_afresh() -> None:
    now = [100.0]
    ahead = RecallAhead(max_age=5.0, clock=lambda: now[0])
    ahead.start("m1", "agent-a", _never())
    task = ahead._searches["m1"].task
    now[0] += 5.1

    assert ahead.take("m1", "agent-a") is None
    await asyncio.sleep(0)
    assert task.cancelled()


async def test_the_oldest_searches_are_pushed_out_and_cancelled() -> None:
    ahead = RecallAhead(max_age=5.0, capacity=2)
    for message_id in ("m1", "m2", "m3"):
        ahead.start(message_id, "agent-a", _never())
    first = asyncio.all_tasks()
    await asyncio.sleep(0)

    assert len(ahead) == 2 and ahead.take("m1", "agent-a") is None
    assert sum(task.cancelled() for task in first if task.get_name().startswith("recall-ahead-")) == 1
    for message_id in ("m2", "m3"):
        task = ahead.take(message_id, "agent-a")
        assert task is not None
        task.cancel()
