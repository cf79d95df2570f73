"""One suite over the in-memory and the PostgreSQL topic repositories, so the fake stays honest."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from agentmesh_agents.adapters.agent_repository import SqlAgentRepository
from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository
from agentmesh_agents.adapters.message_repository import SqlMessageRepository
from agentmesh_agents.adapters.topic_fakes import InMemoryTopicRepository
from agentmesh_agents.adapters.topic_repository import SqlTopicRepository
from agentmesh_agents.domain.models import Agent, Message, MessageStatus, Participant, ParticipantType
from agentmesh_agents.domain.topics import Publication

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PROJECT = str(uuid.uuid4())
OTHER = str(uuid.uuid4())
USER = Participant(ParticipantType.USER, "user-1")


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(params=["memory", "postgres"])
def repos(request):
    if request.param == "memory":
        agents = InMemoryAgentRepository()
        messages = InMemoryMessageRepository(agents)
        return agents, messages, InMemoryTopicRepository(agents, messages)
    db = request.getfixturevalue("db")
    return SqlAgentRepository(db), SqlMessageRepository(db), SqlTopicRepository(db)


async def _agent(repos, name: str, *topics: str, project: str = PROJECT, minute: int = 0) -> Agent:
    at = T0 + timedelta(minutes=minute)
    agent = Agent(id=_id(), project_id=project, name=name, topics=topics, created_at=at, updated_at=at)
    return await repos[0].add(agent)


def _publication(topic: str, key: str | None = None, sender: Participant = USER, project: str = PROJECT):
    return Publication(_id(), project, topic, sender, key, T0)


def _message_for(publication: Publication):
    def make(agent_id: str) -> Message:
        return Message(
            id=_id(),
            project_id=publication.project_id,
            conversation_id=_id(),
            sender=publication.sender,
            receiver=Participant(ParticipantType.AGENT, agent_id),
            content={"text": "report"},
            correlation_id=publication.id,
            created_at=T0,
            updated_at=T0,
        )

    return make


async def _publish(repos, publication: Publication):
    return await repos[2].publish(publication, _message_for(publication))


async def test_a_publication_stores_one_queued_message_per_subscriber_of_its_project(repos) -> None:
    a = await _agent(repos, "a", "daily", "news", minute=1)
    b = await _agent(repos, "b", "daily", minute=2)
    await _agent(repos, "c", "news")
    await _agent(repos, "d")
    await _agent(repos, "theirs", "daily", project=OTHER)
    publication = _publication("daily")

    sent, created = await _publish(repos, publication)

    assert created
    assert [m.receiver.id for m in sent] == [a.id, b.id]  # by subscription (creation) order
    for message in sent:
        stored = await repos[1].get(PROJECT, message.id)
        assert stored == message and stored.status is MessageStatus.QUEUED
        assert stored.correlation_id == publication.id
    # Stored, not yet posted: the recovery sweep would post them, until they are marked.
    later = T0 + timedelta(days=1)
    assert {m.id for m in await repos[1].due_for_publish(later, T0, 100)} == {m.id for m in sent}
    await repos[1].mark_published(PROJECT, [sent[0].id], later)
    assert [m.id for m in await repos[1].due_for_publish(later, T0, 100)] == [sent[1].id]


async def test_topic_matching_is_exact(repos) -> None:
    await _agent(repos, "a", "daily_report")
    await _agent(repos, "b", "Daily_report", "daily")
    for topic in ("daily_repor", "daily_report.x", "DAILY_REPORT", "daily%", "*"):
        assert (await _publish(repos, _publication(topic)))[0] == []
    assert len((await _publish(repos, _publication("daily_report")))[0]) == 1


async def test_a_repeated_key_returns_the_first_messages_and_writes_nothing(repos) -> None:
    await _agent(repos, "b", "t", minute=2)
    await _agent(repos, "a", "t", minute=1)
    first, _ = await _publish(repos, _publication("t", key="k"))
    await _agent(repos, "late", "t", minute=3)

    again, created = await _publish(repos, _publication("t", key="k"))

    assert not created and [m.id for m in again] == [m.id for m in first] and len(first) == 2
    # Keys are per project and topic.
    assert len((await _publish(repos, _publication("t", key="k2")))[0]) == 3
    assert (await _publish(repos, _publication("u", key="k")))[1]
    await _agent(repos, "other", "t", project=OTHER)
    assert len((await _publish(repos, _publication("t", key="k", project=OTHER)))[0]) == 1


async def test_the_sending_agent_is_left_out(repos) -> None:
    manager = await _agent(repos, "manager", "t")
    worker = await _agent(repos, "worker", "t")
    sender = Participant(ParticipantType.AGENT, manager.id)
    sent, _ = await _publish(repos, _publication("t", sender=sender))
    assert [m.receiver.id for m in sent] == [worker.id]
    assert sent[0].sender == sender


async def test_concurrent_publishes_with_one_key_deliver_once(db) -> None:
    agents, messages, topics = SqlAgentRepository(db), SqlMessageRepository(db), SqlTopicRepository(db)
    for index in range(5):
        await _agent((agents, messages, topics), f"a{index}", "t")
    twins = [_publication("t", key="same") for _ in range(4)]

    results = await asyncio.gather(*(topics.publish(p, _message_for(p)) for p in twins))

    assert sum(created for _, created in results) == 1
    assert len({tuple(sorted(m.id for m in sent)) for sent, _ in results}) == 1
    count = await db.run(lambda s: s.execute(text("SELECT count(*) FROM agents.messages")).scalar())
    assert count == 5


async def test_project_deletion_forgets_publications(db) -> None:
    agents, messages, topics = SqlAgentRepository(db), SqlMessageRepository(db), SqlTopicRepository(db)
    await _agent((agents, messages, topics), "a", "t")
    await _agent((agents, messages, topics), "b", "t", project=OTHER)
    await topics.publish(p := _publication("t", key="k"), _message_for(p))
    await topics.publish(q := _publication("t", key="k", project=OTHER), _message_for(q))

    assert await topics.delete_project(PROJECT) == 1

    rows = await db.run(
        lambda s: s.execute(text("SELECT project_id, count(*) FROM agents.topic_deliveries d JOIN "
                                 "agents.topic_publications p ON p.id = d.publication_id GROUP BY 1")).all()
    )  # fmt: skip
    assert [(str(row[0]), row[1]) for row in rows] == [(OTHER, 1)]
    orphans = await db.run(
        lambda s: s.execute(
            text("SELECT count(*) FROM agents.topic_deliveries d WHERE NOT EXISTS "
                 "(SELECT 1 FROM agents.topic_publications p WHERE p.id = d.publication_id)")
        ).scalar()
    )  # fmt: skip
    assert orphans == 0


async def test_the_subscriber_lookup_uses_the_topics_index(db) -> None:
    """10,000 agents with subscriptions cost index entries, not consumers: the lookup reads the GIN index."""

    def plan(connection) -> str:
        connection.execute(
            text(
                "INSERT INTO agents.agents (id, project_id, name, status, topics, created_at, updated_at) "
                "SELECT gen_random_uuid(), CAST(:p AS uuid), 'agent-' || i, 'active', "
                "jsonb_build_array('shard-' || (i % 100), CASE WHEN i % 2000 = 0 THEN 'daily' ELSE 'other' END), "
                "now(), now() FROM generate_series(1, 10000) AS i"
            ),
            {"p": PROJECT},
        )
        connection.execute(text("ANALYZE agents.agents"))
        rows = connection.execute(
            text("EXPLAIN SELECT id FROM agents.agents WHERE project_id = :p AND topics @> CAST(:t AS jsonb)"),
            {"p": PROJECT, "t": '["daily"]'},
        ).all()
        return "\n".join(row[0] for row in rows)

    assert "ix_agents_topics" in await db.run(plan)
