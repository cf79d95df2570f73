"""No memory search for a project without memory; an entry added since is found by the next turn."""

from __future__ import annotations

import asyncio

from agentmesh_agents.domain.models import EventType, MessageStatus


def _system_prompt(world) -> str:
    return world.inference.calls[-1].turns[0].content


async def test_a_project_without_memory_is_not_searched(world) -> None:
    agent = await world.agent()

    assert (await world.process(await world.send(agent))).done

    assert world.memory.queries == []  # no embedding, no search: only the cheap look
    assert world.memory.looks == 1
    assert "Relevant project knowledge" not in _system_prompt(world)


async def test_an_entry_added_since_the_last_turn_is_found_by_the_next(world) -> None:
    agent = await world.agent()
    await world.process(await world.send(agent, "first"))
    world.memory.entries = ["The office opens at 9."]  # added between the turns

    request = await world.send(agent, "second")
    await world.process(request)

    assert [query for _, _, query, _ in world.memory.queries] == ["second"]
    assert "The office opens at 9." in _system_prompt(world)
    assert EventType.RECALL_SKIPPED not in [e.type for e in world.events.of(request.conversation_id)]


async def test_a_project_known_to_have_memory_is_searched_without_looking_again(world) -> None:
    world.memory.entries = ["The office opens at 9."]
    agent = await world.agent()
    for text in ("one", "two", "three"):
        await world.process(await world.send(agent, text))

    assert world.memory.looks == 1
    assert [query for _, _, query, _ in world.memory.queries] == ["one", "two", "three"]


async def test_memory_is_recalled_while_the_turn_begins(world) -> None:
    """The search does not wait for the turn's start (status, history): each waits here for the other."""
    world.memory.entries = ["The office opens at 9."]
    searching, begun = asyncio.Event(), asyncio.Event()
    search, begin = world.memory.search, world.messages.begin_processing

    async def search_once_begun(*args):
        searching.set()
        await asyncio.wait_for(begun.wait(), 5)
        return await search(*args)

    async def begin_while_searching(*args):
        await asyncio.wait_for(searching.wait(), 5)
        begun.set()
        return await begin(*args)

    world.memory.search, world.messages.begin_processing = search_once_begun, begin_while_searching
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done

    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    assert "The office opens at 9." in _system_prompt(world)
