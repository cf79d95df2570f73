"""Real adapters for the adapter suites: PostgreSQL (fresh database per test) and Temporal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from agentmesh_db.database import Database
from agentmesh_scheduler.adapters.fakes import InMemoryScheduleRepository
from agentmesh_scheduler.adapters.repository import SqlScheduleRepository


@pytest.fixture
def database(migrated_database_url: str) -> Iterator[Database]:
    db = Database(migrated_database_url, pool_size=2)
    yield db
    db.dispose()


@pytest.fixture
def sql_repository(database: Database) -> SqlScheduleRepository:
    return SqlScheduleRepository(database)


@pytest.fixture(params=["memory", "postgres"])
def any_repository(request: pytest.FixtureRequest):
    """The same suite over the fake and the real repository."""
    if request.param == "memory":
        return InMemoryScheduleRepository()
    return request.getfixturevalue("sql_repository")


@pytest.fixture
async def temporal_client(temporal_address: str) -> AsyncIterator[Client]:
    yield await Client.connect(temporal_address, namespace="default")


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so workers of different tests never share work."""
    return f"scheduler-test-{uuid.uuid4().hex[:12]}"
