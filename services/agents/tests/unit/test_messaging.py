"""SendMessage and the message log: validation, senders, idempotency, recovery."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from agentmesh.agents.v1 import message_pb2
from agentmesh_agents.domain.messaging import Outgoing
from agentmesh_agents.domain.models import MessageFilter, MessageStatus, ParticipantType
from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied, Unavailable
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole


async def test_send_queues_and_posts(world):
    agent = await world.agent()

    message = await world.send(agent, {"text": "hi"})

    assert message.status is MessageStatus.QUEUED
    assert (message.sender.type, message.sender.id) == (ParticipantType.USER, world.user.subject)
    assert (message.receiver.type, message.receiver.id) == (ParticipantType.AGENT, agent.id)
    assert message.performative == "request"
    assert world.mailbox.posted == [message]
    await world.messaging.settle()
    assert message.id in world.messages.published_at


async def test_services_send_as_system(world):
    agent = await world.agent()
    scheduler = Identity(subject="scheduler", role=GlobalRole.SERVICE)

    message = await world.send(agent, "run the report", identity=scheduler)

    assert (message.sender.type, message.sender.id) == (ParticipantType.SYSTEM, "scheduler")


async def test_conversation_is_kept_or_started(world):
    agent = await world.agent()
    first = await world.send(agent)
    second = await world.send(agent, conversation_id=first.conversation_id.upper())
    third = await world.send(agent)

    assert second.conversation_id == first.conversation_id
    assert third.conversation_id != first.conversation_id
    # Only the conversations started here are known to have no events yet.
    assert world.events.opened_conversations == [
        (agent.project_id, first.conversation_id),
        (agent.project_id, third.conversation_id),
    ]


async def test_idempotency_key_returns_the_first_message(world):
    agent = await world.agent()
    first = await world.send(agent, "once", idempotency_key="k-1")
    again = await world.send(agent, "once", idempotency_key="k-1")

    assert again.id == first.id
    assert len(world.mailbox.posted) == 1
    assert len(world.events.opened_conversations) == 1  # the repeat started nothing


async def test_unknown_agent_is_not_found(world):
    with pytest.raises(NotFound):
        await world.messaging.send(
            world.user, world.project, Outgoing(agent_id="00000000-0000-4000-8000-000000000000", content="x")
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"content": None},
        {"content": ""},
        {"content": "   "},
        {"content": {}},
        {"content": "x" * (32 * 1024 + 1)},
        {"content": "nul \x00"},
        {"content": {"k": ["lone \udc80"]}},
        {"content": {"n": float("nan")}},
        {"content": [float("inf")]},
        {"content": {"n": 2**64}},
        {"content": json.loads("[" * 33 + "1" + "]" * 33)},
        {"content": {"\x00key": 1}},
        {"conversation_id": "not-a-uuid"},
        {"performative": "Not Valid"},
        {"idempotency_key": "k" * 201},
    ],
)
async def test_bad_input_is_invalid(world, fields):
    agent = await world.agent()
    outgoing = {"agent_id": agent.id, "content": "hi", **fields}
    with pytest.raises(InvalidInput):
        await world.messaging.send(world.user, world.project, Outgoing(**outgoing))
    assert world.messages.messages == {}


async def test_bad_agent_id_is_invalid(world):
    with pytest.raises(InvalidInput):
        await world.messaging.send(world.user, world.project, Outgoing(agent_id="nope", content="x"))


async def test_bus_outage_keeps_the_message_queued_until_recovery(world):
    agent = await world.agent()
    world.mailbox.down = True

    message = await world.send(agent)

    assert message.status is MessageStatus.QUEUED
    assert world.mailbox.posted == []
    assert await world.recovery.sweep() == 0  # too young: the sender may still be posting it

    world.mailbox.down = False
    world.clock.offset = timedelta(seconds=world.limits.recovery_min_age_seconds + 1)
    assert await world.recovery.sweep() == 1
    assert [m.id for m in world.mailbox.posted] == [message.id]
    assert await world.recovery.sweep() == 0  # posted recently: not again


async def test_a_failed_published_mark_leaves_the_message_to_recovery(world, monkeypatch, caplog):
    agent = await world.agent()

    async def database_down(*_args):
        raise Unavailable("database unavailable")

    monkeypatch.setattr(world.messages, "mark_published", database_down)
    message = await world.send(agent)  # answered once posted: the mark comes after
    await world.messaging.settle()

    assert [m.id for m in world.mailbox.posted] == [message.id]
    assert message.id not in world.messages.published_at
    assert "marking 1 messages published failed (Unavailable)" in caplog.text
    monkeypatch.undo()
    world.clock.offset = timedelta(seconds=world.limits.recovery_min_age_seconds + 1)
    assert await world.recovery.sweep() == 1  # posted again; the mailbox drops the repeat by its id
    assert message.id in world.messages.published_at


async def test_recovery_reposts_messages_lost_from_the_mailbox(world):
    agent = await world.agent()
    message = await world.send(agent)
    world.mailbox.take()

    world.clock.offset = timedelta(seconds=world.limits.recovery_stale_seconds + 1)
    assert await world.recovery.sweep() == 1
    assert [m.id for m in world.mailbox.posted] == [message.id]


async def test_list_filters_newest_first(world):
    alice, bob = await world.agent("alice"), await world.agent("bob")
    a1 = await world.send(alice, "a1")
    b1 = await world.send(bob, "b1")
    a2 = await world.send(alice, "a2", conversation_id=a1.conversation_id)
    await world.process(a1)

    everything = await world.messaging.list(world.user, world.project, MessageFilter(), 0, "")
    assert [m.id for m in everything.items][1:] == [a2.id, b1.id, a1.id]  # the reply to a1 is newest

    alices = await world.messaging.list(world.user, world.project, MessageFilter(agent_id=alice.id), 0, "")
    assert len(alices.items) == 3 and b1.id not in [m.id for m in alices.items]

    conversation = await world.messaging.list(
        world.user, world.project, MessageFilter(conversation_id=a1.conversation_id), 0, ""
    )
    assert len(conversation.items) == 3

    queued = await world.messaging.list(world.user, world.project, MessageFilter(status=MessageStatus.QUEUED), 0, "")
    assert [m.id for m in queued.items] == [a2.id, b1.id]

    page = await world.messaging.list(world.user, world.project, MessageFilter(), 2, "")
    rest = await world.messaging.list(world.user, world.project, MessageFilter(), 2, page.next_cursor)
    assert len(page.items) == 2 and len(rest.items) == 2


async def test_watch_unknown_conversation_is_not_found(world):
    with pytest.raises(NotFound):
        await world.messaging.watch(world.user, world.project, "00000000-0000-4000-8000-000000000000", 0)
    with pytest.raises(InvalidInput):
        await world.messaging.watch(world.user, world.project, "bad", 0)


async def test_watch_refuses_a_resume_point_past_the_stored_sequences(world):
    message = await world.send(await world.agent())
    for after in (2**63, 2**64 - 1):
        with pytest.raises(InvalidInput, match="after_sequence"):
            await world.messaging.watch(world.user, world.project, message.conversation_id, after)


async def test_watch_replays_then_follows(world):
    agent = await world.agent()
    message = await world.send(agent)
    await world.process(message)
    stream = await world.messaging.watch(world.user, world.project, message.conversation_id, 0)

    replayed = [await anext(stream)]
    while message_pb2.ConversationEvent.FromString(replayed[-1].data).type != message_pb2.CONVERSATION_EVENT_TYPE_REPLY:
        replayed.append(await anext(stream))
    last = message_pb2.ConversationEvent.FromString(replayed[-1].data)  # relayed as stored
    assert last.reply.parent_id == message.id and last.sequence == 0

    resumed = await world.messaging.watch(world.user, world.project, message.conversation_id, replayed[1].sequence)
    assert (await anext(resumed)).sequence == replayed[2].sequence


async def test_delete_project_data(world):
    agent = await world.agent()
    message = await world.send(agent)
    await world.process(message)

    removed = await world.messaging.delete_project_data(world.admin, world.project)

    assert removed == {"agents": 1, "messages": 2}
    assert world.events.of(message.conversation_id) == []
    assert await world.agents.get(world.project, agent.id) is None


async def test_project_scope_is_checked_before_anything_else(world):
    agent = await world.agent()
    message = await world.send(agent)
    outsider = Identity("user-2", GlobalRole.USER, "22222222-2222-4222-8222-222222222222", ProjectRole.ADMIN)
    for call in (
        lambda: world.messaging.send(outsider, world.project, Outgoing(agent_id="bad", content="")),
        lambda: world.messaging.list(outsider, world.project, MessageFilter(agent_id="bad"), 0, ""),
        lambda: world.messaging.watch(outsider, world.project, message.conversation_id, 0),
        lambda: world.messaging.delete_project_data(outsider, world.project),
    ):
        with pytest.raises(NotFound):
            await call()
    with pytest.raises(PermissionDenied):
        await world.messaging.delete_project_data(world.user, world.project)
    assert len(world.mailbox.posted) == 1
