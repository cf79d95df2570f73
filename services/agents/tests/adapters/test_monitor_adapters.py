"""The monitor's adapters on real infrastructure: system events on JetStream (dedup, replay from a time,
live), and the PostgreSQL reads (monitoring agents, stale mailboxes, long-parked turns), beside their fakes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_agents.adapters.agent_repository import SqlAgentRepository
from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository
from agentmesh_agents.adapters.message_repository import SqlMessageRepository
from agentmesh_agents.adapters.monitor_fakes import InMemoryMonitorAgents, InMemorySystemEvents
from agentmesh_agents.adapters.monitor_store import SqlMonitorAgents, SqlStaleWork
from agentmesh_agents.adapters.system_events import NatsSystemEvents, decode_system_event
from agentmesh_agents.adapters.turn_repository import SqlTurnRepository
from agentmesh_agents.domain.models import (
    Agent,
    AgentStatus,
    Message,
    MessageFilter,
    MessageStatus,
    Participant,
    ParticipantType,
)
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind
from agentmesh_agents.domain.turns import Parked, TurnState, Wake, WakeOutcome
from agentmesh_db.database import Database

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _event(project: str, n: int, at: datetime) -> SystemEvent:
    return SystemEvent(
        id=f"turn-failed-{project}-{n}",
        kind=SystemEventKind.TURN_FAILED,
        project_id=project,
        occurred_at=at,
        agent_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        detail="inference failed: boom",
    )


async def _mine(stream, project: str, n: int) -> list[SystemEvent]:
    taken: list[SystemEvent] = []
    while len(taken) < n:
        event = await asyncio.wait_for(anext(stream), timeout=10)
        if event.project_id == project:  # the stream holds every test's events
            taken.append(event)
    return taken


@pytest.fixture(params=["nats", "memory"])
def system_events(request: pytest.FixtureRequest):
    if request.param == "memory":
        return InMemorySystemEvents()
    return NatsSystemEvents(request.getfixturevalue("js"))


async def test_events_round_trip_once_each_replayed_from_a_time_then_live(system_events) -> None:
    project = str(uuid.uuid4())
    start = datetime.now(UTC)
    first = _event(project, 1, start)
    await system_events.publish(first)
    await system_events.publish(first)  # a repeat (another replica, a redelivery): stored once
    await system_events.publish(_event(project, 2, start))
    stream = system_events.subscribe(start - timedelta(seconds=5))
    replayed = await _mine(stream, project, 2)
    assert replayed[0] == first and replayed[1].id.endswith("-2")
    await system_events.publish(_event(project, 3, datetime.now(UTC)))
    (live,) = await _mine(stream, project, 1)
    assert live.id.endswith("-3")
    await stream.aclose()


async def test_the_feed_starts_at_its_time(system_events) -> None:
    project = str(uuid.uuid4())
    await system_events.publish(_event(project, 1, datetime.now(UTC)))
    await asyncio.sleep(1.1)  # the stream's times are the server's, to the nanosecond; a clear gap between them
    since = datetime.now(UTC)
    await system_events.publish(_event(project, 2, datetime.now(UTC)))
    stream = system_events.subscribe(since)
    (first,) = await _mine(stream, project, 1)
    assert first.id.endswith("-2")
    await stream.aclose()


def test_an_unreadable_payload_is_skipped() -> None:
    assert decode_system_event(b"\xff\xff") is None
    assert decode_system_event(b"") is None  # no id, no project, no kind


@pytest.fixture(params=["sql", "memory"])
def agent_store(request: pytest.FixtureRequest):
    if request.param == "memory":
        agents = InMemoryAgentRepository()
        return agents, InMemoryMonitorAgents(agents)
    db = request.getfixturevalue("db")
    return SqlAgentRepository(db), SqlMonitorAgents(db)


async def test_monitoring_agents_the_oldest_per_project(agent_store) -> None:
    agents, monitors = agent_store
    project, other, none = (str(uuid.uuid4()) for _ in range(3))

    def agent(project_id: str, name: str, agent_type: str, minutes: int) -> Agent:
        at = NOW + timedelta(minutes=minutes)
        return Agent(str(uuid.uuid4()), project_id, name, agent_type=agent_type, created_at=at, updated_at=at)

    first = await agents.add(agent(project, "monitor", "monitor", 1))
    await agents.add(agent(project, "second-monitor", "monitor", 2))
    await agents.add(agent(project, "worker", "", 0))
    elsewhere = await agents.add(agent(other, "monitor", "monitor", 3))
    await agents.add(agent(none, "worker", "", 0))
    assert (await monitors.of_project(project)).id == first.id
    assert await monitors.of_project(none) is None
    assert {a.id for a in await monitors.all() if a.project_id in (project, other, none)} == {first.id, elsewhere.id}


def _message(project: str, agent: str, minutes_ago: int, status: MessageStatus) -> Message:
    at = NOW - timedelta(minutes=minutes_ago)
    return Message(
        id=str(uuid.uuid4()),
        project_id=project,
        conversation_id=str(uuid.uuid4()),
        sender=Participant(ParticipantType.USER, "user-1"),
        receiver=Participant(ParticipantType.AGENT, agent),
        content="hello",
        status=status,
        created_at=at,
        updated_at=at,
    )


async def test_stale_mailboxes_oldest_message_per_active_agent(db: Database) -> None:
    agents, messages = SqlAgentRepository(db), SqlMessageRepository(db)
    project = str(uuid.uuid4())
    slow, quick, paused = [
        await agents.add(Agent(str(uuid.uuid4()), project, name, status=status, created_at=NOW, updated_at=NOW))
        for name, status in (("slow", AgentStatus.ACTIVE), ("quick", AgentStatus.ACTIVE), ("off", AgentStatus.PAUSED))
    ]
    oldest = _message(project, slow.id, 40, MessageStatus.QUEUED)
    for message in (
        oldest,
        _message(project, slow.id, 30, MessageStatus.PROCESSING),
        _message(project, slow.id, 50, MessageStatus.COMPLETE),  # answered: not waiting
        _message(project, quick.id, 2, MessageStatus.QUEUED),  # young
        _message(project, paused.id, 60, MessageStatus.QUEUED),  # paused on purpose
    ):
        await messages.add(message)
    found = [w for w in await SqlStaleWork(db).oldest_waiting(NOW - timedelta(minutes=15)) if w.project_id == project]
    assert [(w.agent_id, w.message_id, w.since) for w in found] == [(slow.id, oldest.id, oldest.created_at)]


async def test_long_parked_turns_that_no_wake_has_reached(db: Database) -> None:
    agents, messages, turns = SqlAgentRepository(db), SqlMessageRepository(db), SqlTurnRepository(db)
    project = str(uuid.uuid4())
    agent = await agents.add(Agent(str(uuid.uuid4()), project, "parker", created_at=NOW, updated_at=NOW))
    waiting, woken = (_message(project, agent.id, 0, MessageStatus.AWAITING_APPROVAL) for _ in range(2))
    for request in (waiting, woken):
        await messages.add(request)
        await turns.save(TurnState(request.id, project, agent.id, parked=Parked("approval", f"key-{request.id}", None)))
    await turns.wake(project, woken.id, Wake(f"key-{woken.id}", WakeOutcome.DENIED))
    stale = SqlStaleWork(db)
    later = [w for w in await stale.parked(datetime.now(UTC) + timedelta(hours=1)) if w.project_id == project]
    assert [(w.agent_id, w.message_id) for w in later] == [(agent.id, waiting.id)]
    assert [w for w in await stale.parked(datetime.now(UTC) - timedelta(hours=1)) if w.project_id == project] == []


@pytest.fixture(params=["sql", "memory"])
def message_store(request: pytest.FixtureRequest):
    if request.param == "memory":
        agents = InMemoryAgentRepository()
        return agents, InMemoryMessageRepository(agents)
    db = request.getfixturevalue("db")
    return SqlAgentRepository(db), SqlMessageRepository(db)


async def test_a_hidden_conversation_is_left_out_of_the_log(message_store) -> None:
    agents, messages = message_store
    project = str(uuid.uuid4())
    agent = await agents.add(Agent(str(uuid.uuid4()), project, "worker", created_at=NOW, updated_at=NOW))
    hidden, shown = (_message(project, agent.id, minutes, MessageStatus.COMPLETE) for minutes in (1, 2))
    for message in (hidden, shown):
        await messages.add(message)
    listed = await messages.list(project, MessageFilter(hidden_conversation_id=hidden.conversation_id), None, 10)
    assert [m.id for m in listed] == [shown.id]
    assert len(await messages.list(project, MessageFilter(), None, 10)) == 2
