"""Topics over the in-memory adapters: fan-out, idempotency, validation, scope, the tool."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from agentmesh_agents.adapters.topic_fakes import InMemoryTopicRepository
from agentmesh_agents.domain.admission import MessageAdmission
from agentmesh_agents.domain.builtin_tools.topic_publish import PublishToTopic
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.models import EventType, MessageStatus, ParticipantType
from agentmesh_agents.domain.topics import Topics
from agentmesh_core.errors import FailedPrecondition, InvalidInput, NotFound, ResourceExhausted
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

from .conftest import PROJECT, USER, World

OTHER_PROJECT = "0b1e4a8e-2f0a-4c55-8a4e-5d7c9e0f1a22"
STRANGER = Identity(subject="stranger", role=GlobalRole.USER, project_id=OTHER_PROJECT, project_role=ProjectRole.ADMIN)


def topics_of(world: World, admission: MessageAdmission | None = None) -> Topics:
    repository = InMemoryTopicRepository(world.agents, world.messages)
    events = EventPublisher(world.events, world.clock)
    return Topics(repository, world.messages, world.mailbox, world.limits, world.clock, admission, events=events)


async def test_a_publish_reaches_each_subscriber_once_and_only_them(world: World) -> None:
    topics = topics_of(world)
    a = await world.agent("a", topics=("daily_report", "news"))
    b = await world.agent("b", topics=("daily_report",))
    await world.agent("c", topics=("news",))
    await world.agent("d")

    sent = await topics.publish(USER, PROJECT, "daily_report", "report, please")

    assert sorted(m.receiver.id for m in sent) == sorted([a.id, b.id])
    assert [m.id for m in world.mailbox.posted] == [m.id for m in sent]
    for message in sent:
        stored = await world.stored(message)
        assert stored.status is MessageStatus.QUEUED and stored.content == "report, please"
        assert stored.sender.type is ParticipantType.USER and stored.sender.id == USER.subject
        assert stored.receiver.type is ParticipantType.AGENT
    # One correlation id ties the fan-out together; each subscriber gets a conversation of its own.
    assert len({m.correlation_id for m in sent}) == 1 and sent[0].correlation_id
    assert len({m.conversation_id for m in sent}) == 2
    assert world.messages.published_at.keys() >= {m.id for m in sent}


async def test_a_topic_without_subscribers_sends_nothing(world: World) -> None:
    await world.agent("a", topics=("other",))
    assert await topics_of(world).publish(USER, PROJECT, "daily_report", "anyone?") == []
    assert world.mailbox.posted == []


async def test_a_retried_publish_delivers_nothing_twice(world: World) -> None:
    topics = topics_of(world)
    await world.agent("a", topics=("t",))
    first = await topics.publish(USER, PROJECT, "t", "once", idempotency_key="k-1")
    # A subscriber added in between does not get the retried publication either.
    await world.agent("late", topics=("t",))

    again = await topics.publish(USER, PROJECT, "t", "once", idempotency_key="k-1")

    assert [m.id for m in again] == [m.id for m in first] and len(first) == 1
    assert len(world.mailbox.posted) == 1
    # The same key on another topic is another publication.
    assert len(await topics.publish(USER, PROJECT, "u", "x", idempotency_key="k-1")) == 0
    assert len(await topics.publish(USER, PROJECT, "t", "twice", idempotency_key="k-2")) == 2


async def test_rows_stored_while_the_bus_is_down_are_posted_by_the_recovery_sweep(world: World) -> None:
    topics = topics_of(world)
    subscriber = await world.agent("a", topics=("t",))
    world.mailbox.down = True

    [message] = await topics.publish(USER, PROJECT, "t", "stored first", idempotency_key="k")
    assert (await world.stored(message)).status is MessageStatus.QUEUED and world.mailbox.posted == []
    world.mailbox.down = False
    # A retry finds the stored message and posts nothing itself; the sweep posts it.
    assert [m.id for m in await topics.publish(USER, PROJECT, "t", "stored first", idempotency_key="k")] == [message.id]
    assert world.mailbox.posted == []
    world.clock.offset += timedelta(seconds=world.limits.recovery_min_age_seconds + 1)

    assert await world.recovery.sweep() == 1
    assert [(m.id, m.receiver.id) for m in world.mailbox.posted] == [(message.id, subscriber.id)]


@pytest.mark.parametrize("topic", ["", "-leading", "has space", "a/b", "x" * 65, "dot*star", "ü"])
async def test_invalid_topic_names_are_refused_before_anything_is_stored(world: World, topic: str) -> None:
    await world.agent("a", topics=("t",))
    with pytest.raises(InvalidInput, match="topic must be 1-64 characters"):
        await topics_of(world).publish(USER, PROJECT, topic, "x")
    assert world.messages.messages == {}


@pytest.mark.parametrize(
    ("content", "why"),
    [("", "must not be empty"), ({}, "must not be empty"), (None, "required"), ("x" * 40_000, "at most")],
)
async def test_bad_content_and_keys_are_refused(world: World, content, why: str) -> None:
    await world.agent("a", topics=("t",))
    topics = topics_of(world)
    with pytest.raises(InvalidInput, match=why):
        await topics.publish(USER, PROJECT, "t", content)
    with pytest.raises(InvalidInput, match="idempotency_key"):
        await topics.publish(USER, PROJECT, "t", "x", idempotency_key="k" * 201)
    assert world.messages.messages == {}


async def test_non_members_get_not_found_and_reach_no_other_project(world: World) -> None:
    await world.agent("a", topics=("t",))
    topics = topics_of(world)
    with pytest.raises(NotFound):
        await topics.publish(STRANGER, PROJECT, "t", "x")
    # A member of the other project publishing there reaches nobody of this one.
    assert await topics.publish(STRANGER, OTHER_PROJECT, "t", "x") == []
    assert world.messages.messages == {}


async def test_the_project_message_rate_counts_publishes(world: World) -> None:
    await world.agent("a", topics=("t",))
    topics = topics_of(world, MessageAdmission("2/minute"))
    await topics.publish(USER, PROJECT, "t", "one")
    await topics.publish(USER, PROJECT, "t", "two")
    with pytest.raises(ResourceExhausted):
        await topics.publish(USER, PROJECT, "t", "three")
    assert len(world.messages.messages) == 2


def step(tool: str, **arguments) -> list[str]:
    return [json.dumps({"tool": tool, "arguments": arguments})]


async def test_an_agent_publishes_with_the_tool_and_each_subscriber_answers(world: World) -> None:
    topics = topics_of(world)
    world.extra_tools = [PublishToTopic(topics)]
    world.rewire()
    world.inference.script = [
        step("publish_to_topic", topic="daily_report_2026-01-01", content="your part of the report"),
        [json.dumps({"final": "asked the team"})],
        ["data part"],
        ["analysis part"],
    ]
    manager = await world.agent("manager", topics=("daily_report_2026-01-01",), model_config={"max_tokens": 64})
    data = await world.agent("data", topics=("daily_report_2026-01-01",))
    analysis = await world.agent("analysis", topics=("daily_report_2026-01-01",))
    await world.grant(manager, "publish_to_topic")
    request = await world.send(manager, "daily report", correlation_id="run-1")

    assert (await world.process(request)).done
    assert world.messages.reply_to(request).content == "asked the team"

    delivered = [m for m in world.mailbox.posted if m.sender.type is ParticipantType.AGENT]
    # The manager, subscribed itself, is left out of its own fan-out.
    assert sorted(m.receiver.id for m in delivered) == sorted([data.id, analysis.id])
    for message in delivered:
        assert message.sender.id == manager.id and message.parent_id == request.id
        assert message.correlation_id == "run-1" and message.project_id == PROJECT
        assert (await world.process(message)).done
    answers = sorted(world.messages.reply_to(m).content for m in delivered)
    assert answers == ["analysis part", "data part"]
    [result] = [m for m in world.messages.messages.values() if m.performative == "tool_result"]
    assert result.content["observation"].startswith("sent to 2 subscriber(s) of 'daily_report_2026-01-01'")
    # The manager's stream shows the fan-out: one `delegated` event per message sent.
    announced = [e for e in world.events.of(request.conversation_id) if e.type is EventType.DELEGATED]
    assert sorted(e.delegation.id for e in announced) == sorted(m.id for m in delivered)
    assert all(e.agent_id == manager.id and e.message_id == request.id for e in announced)
    # A REST publish belongs to no agent's turn: no event anywhere.
    await topics.publish(USER, PROJECT, "daily_report_2026-01-01", "again")
    assert len([e for e in world.events.events if e.type is EventType.DELEGATED]) == 2


async def test_the_tool_refuses_a_bad_topic_with_an_error_observation(world: World) -> None:
    topics = topics_of(world)
    world.extra_tools = [PublishToTopic(topics)]
    world.rewire()
    world.inference.script = [step("publish_to_topic", topic="bad topic", content="x"), [json.dumps({"final": "ok"})]]
    manager = await world.agent("manager", model_config={"max_tokens": 64})
    await world.grant(manager, "publish_to_topic")
    request = await world.send(manager, "go")

    assert (await world.process(request)).done
    [result] = [m for m in world.messages.messages.values() if m.performative == "tool_result"]
    assert result.content["outcome"] == "error"
    assert "topic must be 1-64 characters" in result.content["observation"]
    assert [m.id for m in world.mailbox.posted] == [request.id]


async def test_agents_publishing_to_each_other_stop_at_the_delegation_depth_limit(world: World) -> None:
    topics = topics_of(world)
    team = [await world.agent(f"a{i}", topics=(f"t{i}",)) for i in range(6)]
    request = await world.send(team[0], "start")  # the user's request: depth 0
    for depth in range(1, world.limits.delegation_max_depth + 1):
        [request] = await topics.publish_from_agent(
            PROJECT, team[depth - 1].id, request.id, f"t{depth}", f"hop {depth}", key=f"hop-{depth}"
        )
    assert request.receiver.id == team[world.limits.delegation_max_depth].id

    with pytest.raises(FailedPrecondition, match="depth limit reached"):
        await topics.publish_from_agent(PROJECT, request.receiver.id, request.id, "t5", "one more", key="hop-5")
    assert not any(m.content == "one more" for m in world.messages.messages.values())


class FullBacklog:
    async def admit(self, project_id: str) -> None:
        raise ResourceExhausted("this project has 200 messages waiting for an answer", retry_after=5.0)


async def test_a_publish_is_refused_while_the_backlog_is_full_and_stores_nothing(world: World) -> None:
    await world.agent("a", topics=("t",))
    repository = InMemoryTopicRepository(world.agents, world.messages)
    topics = Topics(repository, world.messages, world.mailbox, world.limits, world.clock, backlog=FullBacklog())
    with pytest.raises(ResourceExhausted, match="waiting for an answer"):
        await topics.publish(USER, PROJECT, "t", "x")
    assert world.messages.messages == {} and repository.publications == {}
