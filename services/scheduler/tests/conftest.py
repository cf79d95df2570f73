"""Fixtures shared by the scheduler's tests: identities, ids and in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.domain.scheduler import Scheduler

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def repository() -> InMemoryScheduleRepository:
    return InMemoryScheduleRepository()


@pytest.fixture
def engine() -> FakeScheduleEngine:
    return FakeScheduleEngine()


@pytest.fixture
def agents(project_id: str, agent_id: str) -> FakeAgents:
    fake = FakeAgents()
    fake.add_agent(project_id, agent_id)
    return fake


@pytest.fixture
def scheduler(repository: InMemoryScheduleRepository, engine: FakeScheduleEngine, agents: FakeAgents) -> Scheduler:
    return Scheduler(repository, engine, agents, clock=lambda: NOW)
