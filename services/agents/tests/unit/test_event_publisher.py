"""A status published ahead: the turn does not wait for it, and the request's next event still follows it."""

from __future__ import annotations

import asyncio

from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.models import EventType, MessageStatus


class HeldStatuses:
    """Wraps the in-memory events: a STATUS publish waits until `release` is set."""

    def __init__(self, events) -> None:
        self.events = events
        self.release = asyncio.Event()
        self.fail = False

    async def publish(self, event, dedup_id=None) -> None:
        if event.type is EventType.STATUS:
            await self.release.wait()
            if self.fail:
                raise ConnectionError("bus down")
        await self.events.publish(event, dedup_id)


async def test_the_requests_next_event_waits_for_a_status_published_ahead(world):
    agent = await world.agent()
    request = await world.send(agent)
    held = HeldStatuses(world.events)
    publisher = EventPublisher(held)

    publisher.status_ahead(request, agent.id, MessageStatus.PROCESSING)  # returns at once
    token = asyncio.create_task(publisher.token(request, agent.id, "Hello"))
    await asyncio.sleep(0.05)
    assert world.events.of(request.conversation_id) == []  # the token waits behind the held status
    held.release.set()
    await token

    events = world.events.of(request.conversation_id)
    assert [e.type for e in events] == [EventType.STATUS, EventType.TOKEN]
    assert events[0].status is MessageStatus.PROCESSING


async def test_other_requests_events_do_not_wait_for_it(world):
    agent = await world.agent()
    first, second = await world.send(agent), await world.send(agent)
    held = HeldStatuses(world.events)
    publisher = EventPublisher(held)

    publisher.status_ahead(first, agent.id, MessageStatus.PROCESSING)
    await asyncio.wait_for(publisher.token(second, agent.id, "Hi"), 1.0)

    assert [e.type for e in world.events.of(second.conversation_id)] == [EventType.TOKEN]
    held.release.set()


async def test_a_status_that_fails_to_go_out_holds_nothing_up(world):
    agent = await world.agent()
    request = await world.send(agent)
    held = HeldStatuses(world.events)
    held.fail = True
    publisher = EventPublisher(held)

    publisher.status_ahead(request, agent.id, MessageStatus.PROCESSING)
    held.release.set()
    await asyncio.wait_for(publisher.reply(request, agent.id, request), 1.0)
    await asyncio.wait_for(publisher.token(request, agent.id, "late"), 1.0)

    assert [e.type for e in world.events.of(request.conversation_id)] == [EventType.REPLY, EventType.TOKEN]


async def test_two_statuses_published_ahead_go_out_in_order(world):
    agent = await world.agent()
    request = await world.send(agent)
    held = HeldStatuses(world.events)
    publisher = EventPublisher(held)

    publisher.status_ahead(request, agent.id, MessageStatus.PROCESSING)
    publisher.status_ahead(request, agent.id, MessageStatus.AWAITING_APPROVAL)
    held.release.set()
    await asyncio.wait_for(publisher.token(request, agent.id, "after"), 1.0)

    events = world.events.of(request.conversation_id)
    assert [(e.type, e.status) for e in events[:2]] == [
        (EventType.STATUS, MessageStatus.PROCESSING),
        (EventType.STATUS, MessageStatus.AWAITING_APPROVAL),
    ]
    assert events[2].type is EventType.TOKEN
