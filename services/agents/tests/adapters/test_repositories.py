"""One suite over the in-memory and the PostgreSQL repositories, so the fakes stay honest."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from agentmesh_agents.adapters.agent_repository import SqlAgentRepository
from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository
from agentmesh_agents.adapters.message_repository import SqlMessageRepository
from agentmesh_agents.domain.models import (
    Agent,
    AgentStatus,
    Message,
    MessageFilter,
    MessageStatus,
    Participant,
    ParticipantType,
)
from agentmesh_agents.domain.ports import DeliveryState
from agentmesh_core.errors import AlreadyExists, FailedPrecondition, NotFound

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PROJECT = str(uuid.uuid4())
OTHER = str(uuid.uuid4())


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(params=["memory", "postgres"])
def repos(request):
    if request.param == "memory":
        agents = InMemoryAgentRepository()
        return agents, InMemoryMessageRepository(agents)
    db = request.getfixturevalue("db")
    return SqlAgentRepository(db), SqlMessageRepository(db)


def _agent(name: str, minute: int = 0, project: str = PROJECT, **fields) -> Agent:
    at = T0 + timedelta(minutes=minute)
    return Agent(id=_id(), project_id=project, name=name, created_at=at, updated_at=at, **fields)


async def _agent_id(repos, project: str = PROJECT) -> str:
    """A stored agent to send messages to (a message to an agent needs the agent)."""
    agents, _ = repos
    return (await agents.add(_agent(f"agent-{_id()}", project=project))).id


def _message(agent_id: str, minute: int, conversation: str | None = None, **fields) -> Message:
    at = T0 + timedelta(minutes=minute)
    base = dict(
        id=_id(),
        project_id=PROJECT,
        conversation_id=conversation or _id(),
        sender=Participant(ParticipantType.USER, "user-1"),
        receiver=Participant(ParticipantType.AGENT, agent_id),
        content={"text": f"m{minute}"},
        created_at=at,
        updated_at=at,
    )
    return Message(**{**base, **fields})


async def test_agents_round_trip_and_scope(repos):
    agents, _ = repos
    stored = await agents.add(
        _agent("a", model_config={"temperature": 0.5, "max_tokens": 8}, topics=("x", "y"), status=AgentStatus.PAUSED)
    )
    assert await agents.get(PROJECT, stored.id) == stored
    assert await agents.get(OTHER, stored.id) is None
    assert stored.model_config == {"temperature": 0.5, "max_tokens": 8}
    assert stored.topics == ("x", "y")


async def test_agent_names_are_unique_per_project(repos):
    agents, _ = repos
    first = await agents.add(_agent("same"))
    with pytest.raises(AlreadyExists):
        await agents.add(_agent("same"))
    await agents.add(_agent("same", project=OTHER))
    second = await agents.add(_agent("other"))
    with pytest.raises(AlreadyExists):
        await agents.update(dataclasses.replace(second, name="same"))
    assert (await agents.get(PROJECT, first.id)).name == "same"


async def test_agents_list_update_delete(repos):
    agents, _ = repos
    created = [await agents.add(_agent(f"a{i}", minute=i)) for i in range(3)]
    after_first = (created[0].created_at, created[0].id)
    assert [a.id for a in await agents.list(PROJECT, after_first, 10)] == [a.id for a in created[1:]]
    assert [a.id for a in await agents.list(PROJECT, None, 2)] == [a.id for a in created[:2]]

    changed = await agents.update(dataclasses.replace(created[0], purpose="new", updated_at=T0 + timedelta(hours=1)))
    assert changed.purpose == "new" and changed.updated_at == T0 + timedelta(hours=1)
    assert await agents.update(dataclasses.replace(created[0], project_id=OTHER)) is None

    assert await agents.delete(PROJECT, created[0].id)
    assert not await agents.delete(PROJECT, created[0].id)
    assert await agents.delete_project(PROJECT) == 2


async def test_message_idempotency_key(repos):
    _, messages = repos
    agent_id, elsewhere = await _agent_id(repos), await _agent_id(repos, OTHER)
    first, created = await messages.add(_message(agent_id, 0, idempotency_key="k"))
    again, created_again = await messages.add(_message(agent_id, 1, idempotency_key="k"))
    assert created and not created_again
    assert again.id == first.id
    assert (await messages.add(_message(elsewhere, 2, project_id=OTHER, idempotency_key="k")))[1]


async def test_a_message_to_a_missing_agent_is_not_stored(repos):
    _, messages = repos
    elsewhere = await _agent_id(repos, OTHER)
    for agent_id in (_id(), elsewhere):  # unknown, or another project's
        message = _message(agent_id, 0)
        with pytest.raises(NotFound):
            await messages.add(message)
        assert await messages.get(PROJECT, message.id) is None


async def test_message_round_trip(repos):
    _, messages = repos
    message = _message(await _agent_id(repos), 0, content="plain text", correlation_id="c", performative="inform")
    stored, _ = await messages.add(message)
    assert stored == message
    assert await messages.get(PROJECT, message.id) == message
    assert await messages.get(OTHER, message.id) is None


async def test_status_changes_stop_at_final(repos):
    _, messages = repos
    message, _ = await messages.add(_message(await _agent_id(repos), 0))
    processing = await messages.set_status(PROJECT, message.id, MessageStatus.PROCESSING)
    assert processing.status is MessageStatus.PROCESSING
    failed = await messages.set_status(PROJECT, message.id, MessageStatus.ERROR, "boom")
    assert (failed.status, failed.error) == (MessageStatus.ERROR, "boom")
    assert await messages.set_status(PROJECT, message.id, MessageStatus.PROCESSING) is None
    assert (await messages.get(PROJECT, message.id)).status is MessageStatus.ERROR


def _reply(request: Message, minute: int) -> Message:
    return request.reply_from(request.receiver.id, {"text": f"m{minute}"}, T0 + timedelta(minutes=minute))


async def test_one_reply_per_request(repos):
    _, messages = repos
    request, _ = await messages.add(_message(await _agent_id(repos), 0))

    first = await messages.complete_with_reply(request, _reply(request, 1))
    second = await messages.complete_with_reply(request, _reply(request, 2))
    assert second.id == first.id
    assert (await messages.get(PROJECT, request.id)).status is MessageStatus.COMPLETE
    log = await messages.list(PROJECT, MessageFilter(conversation_id=request.conversation_id), None, 10)
    assert [m.id for m in log] == [first.id, request.id]


async def test_a_cancelled_request_is_not_completed_and_gets_no_reply(repos):
    _, messages = repos
    request, _ = await messages.add(_message(await _agent_id(repos), 0))
    await messages.set_status(PROJECT, request.id, MessageStatus.CANCELLED)

    with pytest.raises(FailedPrecondition):
        await messages.complete_with_reply(request, _reply(request, 1))
    assert (await messages.get(PROJECT, request.id)).status is MessageStatus.CANCELLED
    log = await messages.list(PROJECT, MessageFilter(conversation_id=request.conversation_id), None, 10)
    assert [m.id for m in log] == [request.id]


async def test_a_reply_that_cannot_be_stored_leaves_its_request_unfinished(db):
    """The completion and the reply are one statement: a reply refused (here its id is taken) undoes both."""
    messages = SqlMessageRepository(db)
    request, _ = await messages.add(_message(await _agent_id((SqlAgentRepository(db), messages)), 0))

    with pytest.raises(IntegrityError):
        await messages.complete_with_reply(request, dataclasses.replace(_reply(request, 1), id=request.id))
    assert (await messages.get(PROJECT, request.id)).status is MessageStatus.QUEUED


async def test_begin_processing_marks_the_request_and_reads_history_oldest_first(repos):
    _, messages = repos
    agent_id, conversation = await _agent_id(repos), _id()
    done = [
        (await messages.add(_message(agent_id, i, conversation, status=MessageStatus.COMPLETE)))[0] for i in range(4)
    ]
    await messages.add(_message(agent_id, 5, conversation, status=MessageStatus.ERROR))
    await messages.add(_message(agent_id, 6, _id(), status=MessageStatus.COMPLETE))
    request, _ = await messages.add(_message(agent_id, 10, conversation))
    await messages.add(_message(agent_id, 11, conversation, status=MessageStatus.COMPLETE))

    history = await messages.begin_processing(request, 3)
    assert [m.id for m in history] == [m.id for m in done[1:]]
    marked = await messages.get(PROJECT, request.id)
    assert marked.status is MessageStatus.PROCESSING and marked.updated_at != request.updated_at

    assert await messages.begin_processing(marked, 0) == []
    assert (await messages.get(PROJECT, request.id)).updated_at == marked.updated_at  # already processing
    await messages.set_status(PROJECT, request.id, MessageStatus.ERROR, "boom")
    assert len(await messages.begin_processing(marked, 10)) == 4
    assert (await messages.get(PROJECT, request.id)).status is MessageStatus.ERROR  # final stays final
    assert await messages.conversation_exists(PROJECT, conversation)
    assert not await messages.conversation_exists(OTHER, conversation)


async def test_delivery_state_begins_the_turn_in_its_read_when_asked(repos):
    _, messages = repos
    agent_id, conversation = await _agent_id(repos), _id()
    earlier, _ = await messages.add(_message(agent_id, 0, conversation, status=MessageStatus.COMPLETE))
    request, _ = await messages.add(_message(agent_id, 10, conversation))
    seen = []

    def refuse(state):
        seen.append(state)
        return False

    state = await messages.delivery_state(PROJECT, agent_id, request.id, begin=refuse, history_limit=5)
    assert state.history is None and [s.request.id for s in seen] == [request.id]  # asked with what was read
    assert (await messages.get(PROJECT, request.id)).status is MessageStatus.QUEUED

    state = await messages.delivery_state(PROJECT, agent_id, request.id, begin=lambda _: True, history_limit=5)
    assert [m.id for m in state.history] == [earlier.id]
    assert state.request.status is MessageStatus.QUEUED  # the state as read; the row is marked since
    assert (await messages.get(PROJECT, request.id)).status is MessageStatus.PROCESSING
    missing = await messages.delivery_state(PROJECT, agent_id, _id(), begin=lambda _: True, history_limit=5)
    assert missing.request is None and missing.history is None


async def test_delivery_state_is_everything_processing_decides_on(repos):
    agents, messages = repos
    agent_id = await _agent_id(repos)
    agent = await agents.get(PROJECT, agent_id)
    oldest, _ = await messages.add(_message(agent_id, 0))  # unfinished, however long ago it last changed
    earlier, _ = await messages.add(_message(agent_id, 2, status=MessageStatus.PROCESSING))
    request, _ = await messages.add(_message(agent_id, 3))
    await messages.add(_message(await _agent_id(repos), 1))  # another agent's

    state = await messages.delivery_state(PROJECT, agent_id, request.id)
    assert (state.request, state.agent, state.answered, state.earlier_id) == (request, agent, False, oldest.id)
    assert (await messages.delivery_state(PROJECT, agent_id, earlier.id)).earlier_id == oldest.id
    assert (await messages.delivery_state(PROJECT, agent_id, oldest.id)).earlier_id is None
    assert (await messages.delivery_state(PROJECT, _id(), oldest.id)).agent is None

    reply = _message(agent_id, 4, sender=Participant(ParticipantType.AGENT, agent_id), receiver=earlier.sender,
                     performative="reply", status=MessageStatus.COMPLETE, parent_id=earlier.id)  # fmt: skip
    await messages.complete_with_reply(earlier, reply)
    await messages.set_status(PROJECT, earlier.id, MessageStatus.PROCESSING)  # ignored: complete is final
    assert (await messages.delivery_state(PROJECT, agent_id, earlier.id)).request.status.is_final
    await messages.set_status(PROJECT, oldest.id, MessageStatus.ERROR, "boom")
    assert (await messages.delivery_state(PROJECT, agent_id, request.id)).earlier_id is None  # the rest are final
    assert await messages.delivery_state(OTHER, agent_id, request.id) == DeliveryState(None)


async def test_list_filters(repos):
    _, messages = repos
    alice, bob = await _agent_id(repos), await _agent_id(repos)
    a = (await messages.add(_message(alice, 0)))[0]
    b = (await messages.add(_message(bob, 1, status=MessageStatus.COMPLETE)))[0]
    from_alice = (
        await messages.add(_message(bob, 2, sender=Participant(ParticipantType.AGENT, alice), receiver=a.sender))
    )[0]

    def ids(found):
        return [m.id for m in found]

    assert ids(await messages.list(PROJECT, MessageFilter(), None, 10)) == [from_alice.id, b.id, a.id]
    assert ids(await messages.list(PROJECT, MessageFilter(agent_id=alice), None, 10)) == [from_alice.id, a.id]
    assert ids(await messages.list(PROJECT, MessageFilter(status=MessageStatus.COMPLETE), None, 10)) == [b.id]
    assert ids(await messages.list(PROJECT, MessageFilter(), (from_alice.created_at, from_alice.id), 1)) == [b.id]
    assert await messages.list(OTHER, MessageFilter(), None, 10) == []


async def test_keyset_pages_neither_repeat_nor_skip_while_messages_arrive(repos):
    _, messages = repos
    agent = await _agent_id(repos)
    older = [(await messages.add(_message(agent, minute)))[0] for minute in range(5)]
    # Two messages share a timestamp: the id breaks the tie, so neither is lost at a page edge.
    twin = (await messages.add(_message(agent, 2)))[0]
    expected = sorted([*older, twin], key=lambda m: (m.created_at, m.id), reverse=True)

    seen, after = [], None
    for round_ in range(10):
        page = await messages.list(PROJECT, MessageFilter(), after, 2)
        seen += page
        if len(page) < 2:
            break
        after = (page[-1].created_at, page[-1].id)
        # New messages arrive between two page reads (newer than everything paged so far).
        await messages.add(_message(agent, 100 + round_))
    assert [m.id for m in seen] == [m.id for m in expected]


async def test_due_for_publish(repos):
    _, messages = repos
    agent_id = await _agent_id(repos)
    never = (await messages.add(_message(agent_id, 0)))[0]
    fresh = (await messages.add(_message(agent_id, 30)))[0]
    long_ago = (await messages.add(_message(agent_id, 1)))[0]
    await messages.mark_published(PROJECT, [long_ago.id], T0 + timedelta(minutes=2))
    recent = (await messages.add(_message(agent_id, 3)))[0]
    await messages.mark_published(PROJECT, [recent.id], T0 + timedelta(minutes=25))
    await messages.add(_message(agent_id, 4, status=MessageStatus.COMPLETE))
    stuck = (await messages.add(_message(agent_id, 5, status=MessageStatus.PROCESSING)))[0]
    await messages.mark_published(PROJECT, [stuck.id], T0 + timedelta(minutes=6))
    busy = (await messages.add(_message(agent_id, 6, updated_at=T0 + timedelta(minutes=28))))[0]
    await messages.mark_published(PROJECT, [busy.id], T0 + timedelta(minutes=7))

    due = await messages.due_for_publish(
        unpublished_before=T0 + timedelta(minutes=20), published_before=T0 + timedelta(minutes=10), limit=10
    )
    assert [m.id for m in due] == [never.id, long_ago.id, stuck.id]
    assert fresh.id not in [m.id for m in due]


async def test_delete_project_messages(repos):
    _, messages = repos
    await messages.add(_message(await _agent_id(repos), 0))
    await messages.add(_message(await _agent_id(repos, OTHER), 1, project_id=OTHER))
    assert await messages.delete_project(PROJECT) == 1
    assert len(await messages.list(OTHER, MessageFilter(), None, 10)) == 1
