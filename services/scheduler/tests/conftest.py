"""Fixtures shared by the scheduler's tests: identities, ids and in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from agentmesh_devstack.templates import Build, migrations
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.adapters.job_fakes import FakeJobEngine, InMemoryJobRepository
from agentmesh_scheduler.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.scheduler import Scheduler

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def repository() -> InMemoryScheduleRepository:
    return InMemoryScheduleRepository()


@pytest.fixture
def engine() -> FakeScheduleEngine:
    return FakeScheduleEngine(clock=lambda: NOW)


@pytest.fixture
def agents(project_id: str, agent_id: str) -> FakeAgents:
    fake = FakeAgents()
    fake.add_agent(project_id, agent_id)
    return fake


@pytest.fixture
def scheduler(repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, agents: FakeAgents) -> Scheduler:
    return Scheduler(repository, engine, agents, clock=lambda: NOW)


@pytest.fixture
def migrated_database_url(database_from_template: Callable[[str, Build], str]) -> str:
    """A fresh database with the scheduler schema migrated: a clone of a template migrated once per session."""
    return database_from_template(SCHEMA, migrations(MIGRATIONS_DIR, SCHEMA))


@pytest.fixture
def job_repository() -> InMemoryJobRepository:
    return InMemoryJobRepository()


@pytest.fixture
def job_engine() -> FakeJobEngine:
    return FakeJobEngine()


@pytest.fixture
def jobs(job_repository: InMemoryJobRepository, job_engine: FakeJobEngine, agents: FakeAgents) -> Jobs:
    return Jobs(job_repository, job_engine, agents, ui_link=lambda workflow_id: f"http://ui/{workflow_id}")
