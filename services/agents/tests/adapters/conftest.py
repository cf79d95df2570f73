"""Real PostgreSQL and NATS for adapter tests (from the devstack fixtures)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from agentmesh_db.database import Database
from agentmesh_events import bus, subjects
from agentmesh_events.bus import ensure_streams


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[Database]:
    """A fresh database with the agents schema migrated."""
    database = Database(migrated_database_url, pool_size=4)
    yield database
    database.dispose()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """JetStream with agentmesh's streams; the inbox is emptied and its consumers removed afterwards."""
    nc = await bus.connect(nats_url, "agents-tests")
    context = nc.jetstream()
    await ensure_streams(context)
    yield context
    for info in await context.consumers_info(subjects.INBOX_STREAM):
        try:
            await context.delete_consumer(subjects.INBOX_STREAM, info.name)
        except NotFoundError:
            pass
    await context.purge_stream(subjects.INBOX_STREAM)
    await nc.drain()
