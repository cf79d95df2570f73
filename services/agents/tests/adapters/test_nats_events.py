"""Conversation events on real JetStream: numbered per conversation (never the stream's
sequence), replay, resume after a number, live, concurrent publishers, dedup, purge."""

from __future__ import annotations

import asyncio
import uuid

from agentmesh.agents.v1 import message_pb2
from agentmesh_agents.adapters.nats_events import WATCH_IDLE_SECONDS, NatsConversationEvents
from agentmesh_agents.domain.models import ConversationEvent, EventType
from agentmesh_devstack.waiting import eventually
from agentmesh_events.subjects import EVENTS_STREAM


def _event(project: str, conversation: str, text: str) -> ConversationEvent:
    return ConversationEvent(
        type=EventType.TOKEN,
        project_id=project,
        conversation_id=conversation,
        message_id=str(uuid.uuid4()),
        agent_id=str(uuid.uuid4()),
        text=text,
    )


async def _take(stream, n: int) -> list[message_pb2.ConversationEvent]:
    """The next n events, decoded (watchers get them as stored, their number beside them)."""
    taken = []
    for _ in range(n):
        stored = await asyncio.wait_for(anext(stream), timeout=5)
        event = message_pb2.ConversationEvent.FromString(stored.data)
        assert event.sequence == 0  # stored without it: the number travels beside it
        event.sequence = stored.sequence
        taken.append(event)
    return taken


async def test_replay_resume_and_live(js):
    events = NatsConversationEvents(js)
    project, conversation, elsewhere = (str(uuid.uuid4()) for _ in range(3))
    for text in ("a", "b", "c"):
        await events.publish(_event(project, conversation, text))
    await events.publish(_event(project, elsewhere, "other"))

    consumers_before = len(await js.consumers_info(EVENTS_STREAM))
    stream = events.subscribe(project, conversation, 0)
    replayed = await _take(stream, 3)
    assert [(e.text, e.sequence) for e in replayed] == [("a", 1), ("b", 2), ("c", 3)]
    await events.publish(_event(project, conversation, "live"))
    (live,) = await _take(stream, 1)
    assert (live.text, live.sequence) == ("live", 4)
    await stream.aclose()

    async def cleaned_up() -> bool:  # the server removes the watch's consumer once it sat unused
        return len(await js.consumers_info(EVENTS_STREAM)) <= consumers_before

    await eventually(cleaned_up, timeout=WATCH_IDLE_SECONDS + 5, what="the watch's consumer to be removed")

    resumed = events.subscribe(project, conversation, replayed[0].sequence)
    assert [e.text for e in await _take(resumed, 3)] == ["b", "c", "live"]
    await resumed.aclose()


async def test_dedup_id_publishes_once(js):
    events = NatsConversationEvents(js)
    project, conversation = str(uuid.uuid4()), str(uuid.uuid4())
    event = _event(project, conversation, "reply")
    await events.publish(event, dedup_id=f"reply-{event.message_id}")
    await events.publish(event, dedup_id=f"reply-{event.message_id}")
    await events.publish(_event(project, conversation, "after"))

    stream = events.subscribe(project, conversation, 0)
    assert [(e.text, e.sequence) for e in await _take(stream, 2)] == [("reply", 1), ("after", 2)]
    await stream.aclose()


async def test_purge_project_removes_only_that_project(js):
    events = NatsConversationEvents(js)
    project, other, conversation = (str(uuid.uuid4()) for _ in range(3))
    await events.publish(_event(project, conversation, "gone"))
    await events.publish(_event(other, conversation, "kept"))

    await events.purge_project(project)

    stream = events.subscribe(other, conversation, 0)
    assert [e.text for e in await _take(stream, 1)] == ["kept"]
    await stream.aclose()
    # A replay from the start of the purged project yields the next event published, not "gone".
    purged = events.subscribe(project, conversation, 0)
    await events.publish(_event(project, conversation, "after the purge"))
    assert [e.text for e in await _take(purged, 1)] == ["after the purge"]
    await purged.aclose()


async def test_numbers_reveal_nothing_of_other_conversations(js):
    events = NatsConversationEvents(js)
    project, mine, theirs = (str(uuid.uuid4()) for _ in range(3))
    await events.publish(_event(project, mine, "one"))
    for i in range(5):  # another tenant's activity in between
        await events.publish(_event(str(uuid.uuid4()), theirs, f"noise {i}"))
    await events.publish(_event(project, mine, "two"))

    stream = events.subscribe(project, mine, 0)
    assert [e.sequence for e in await _take(stream, 2)] == [1, 2]  # no gap where the others were
    await stream.aclose()


async def test_concurrent_publishers_never_share_a_number(js):
    # Two adapters stand for two replicas; each caches what it last published.
    first, second = NatsConversationEvents(js), NatsConversationEvents(js)
    project, conversation = str(uuid.uuid4()), str(uuid.uuid4())
    await asyncio.gather(
        *(publisher.publish(_event(project, conversation, f"{i}")) for i in range(10) for publisher in (first, second))
    )
    stream = first.subscribe(project, conversation, 0)
    taken = await _take(stream, 20)
    await stream.aclose()
    assert [e.sequence for e in taken] == list(range(1, 21))
    await second.publish(_event(project, conversation, "after"))  # its cache is stale: it catches up
    resumed = first.subscribe(project, conversation, 20)
    assert [(e.text, e.sequence) for e in await _take(resumed, 1)] == [("after", 21)]
    await resumed.aclose()


async def test_a_conversation_opened_here_publishes_its_first_event_without_a_look_up(js):
    events = NatsConversationEvents(js)
    project, conversation = str(uuid.uuid4()), str(uuid.uuid4())
    look_ups = []
    get_last_msg = js.get_last_msg

    async def counted(*args, **kwargs):
        look_ups.append(args)
        return await get_last_msg(*args, **kwargs)

    js.get_last_msg = counted
    try:
        events.opened(project, conversation)
        for text in ("a", "b"):
            await events.publish(_event(project, conversation, text))
        assert look_ups == []
        # Wrongly opened (the conversation had events, from another replica): the condition fails, the
        # truth is read, and numbering goes on from it.
        elsewhere = NatsConversationEvents(js)
        elsewhere.opened(project, conversation)
        await elsewhere.publish(_event(project, conversation, "c"))
        assert len(look_ups) == 1
    finally:
        js.get_last_msg = get_last_msg
    stream = events.subscribe(project, conversation, 0)
    assert [(e.text, e.sequence) for e in await _take(stream, 3)] == [("a", 1), ("b", 2), ("c", 3)]
    await stream.aclose()
