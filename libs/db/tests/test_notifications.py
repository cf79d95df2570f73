"""LISTEN/NOTIFY on a real PostgreSQL: transactional delivery, sync, and what a lost connection does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from agentmesh_db.database import Database
from agentmesh_db.notifications import Listener, notify
from agentmesh_devstack.waiting import eventually

CHANNEL = "agentmesh_test_channel"


class Heard:
    """What a listener handed over, resets included."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=2)
    yield db
    db.dispose()


@pytest.fixture
async def heard(database: Database) -> AsyncIterator[tuple[Listener, Heard]]:
    record = Heard()
    listener = Listener(database, CHANNEL, record.messages.append, record.reset, retry_seconds=0.1)
    listener.start()
    assert await listener.wait_listening(30)
    yield listener, record
    await listener.close()


async def test_a_committed_notification_is_heard_and_a_rolled_back_one_never(database, heard) -> None:
    listener, record = heard

    def rolled_back(s) -> None:
        notify(s, CHANNEL, "rolled back")
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await database.run(rolled_back)
    await database.run(lambda s: notify(s, CHANNEL, "committed"))
    assert await listener.sync()
    assert record.messages == ["committed"]


async def test_after_sync_every_notification_committed_before_it_was_handed_over(database, heard) -> None:
    listener, record = heard
    for index in range(50):
        await database.run(lambda s, index=index: notify(s, CHANNEL, str(index)))
        assert await listener.sync()
        assert record.messages[-1] == str(index)  # no waiting: the round trip brought it


async def test_concurrent_syncs_all_succeed(database, heard) -> None:
    listener, record = heard
    await database.run(lambda s: notify(s, CHANNEL, "before"))
    results = await asyncio.gather(*(listener.sync() for _ in range(20)))
    assert all(results) and record.messages == ["before"]


async def test_a_lost_connection_resets_then_listens_again(database, heard) -> None:
    listener, record = heard
    terminate = text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name")
    await database.run(lambda s: s.execute(terminate, {"name": listener.application_name}))
    await eventually(lambda: record.resets == 1, timeout=30)
    await eventually(lambda: listener.listening, timeout=30)
    await database.run(lambda s: notify(s, CHANNEL, "after"))
    assert await listener.sync()
    assert record.messages == ["after"]


async def test_a_closed_listener_answers_sync_false(heard) -> None:
    listener, record = heard
    await listener.close()
    assert not listener.listening
    assert not await listener.sync()
    assert record.resets == 1


def test_a_channel_must_be_a_plain_identifier(database) -> None:
    with pytest.raises(ValueError, match="identifier"):
        Listener(database, 'x"; DROP', lambda _: None, lambda: None)


async def test_a_sync_begun_while_a_round_trip_is_on_the_wire_waits_for_the_next(database, heard) -> None:
    listener, record = heard
    first = listener.begin_sync()  # nothing on the wire: its query is sent before this returns
    # Committed after the first round trip's query went out, without yielding to the loop
    # (so that round trip is still on the wire when the second sync begins).
    with database.engine.begin() as connection:
        notify(connection, CHANNEL, "after the first query")
    second = listener.begin_sync()
    assert await second
    assert record.messages == ["after the first query"]  # the second's own round trip brought it
    assert await first


async def test_begin_sync_answers_false_at_once_while_not_listening(heard) -> None:
    listener, _ = heard
    await listener.close()
    answer = listener.begin_sync()
    assert answer.done() and answer.result() is False
