"""Fixtures shared by the scheduler's tests: identities, ids and in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_scheduler.adapters.fakes import FakeAgents, FakeScheduleEngine, InMemoryScheduleRepository
from agentmesh_scheduler.domain.scheduler import Scheduler

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def project_id() -> str:
    return new_id()


@pytest.fixture
def agent_id() -> str:
    return new_id()


@pytest.fixture
def admin(project_id: str) -> Identity:
    return Identity(subject=new_id(), role=GlobalRole.USER, project_id=project_id, project_role=ProjectRole.ADMIN)


@pytest.fixture
def member(project_id: str) -> Identity:
    return Identity(subject=new_id(), role=GlobalRole.USER, project_id=project_id, project_role=ProjectRole.USER)


@pytest.fixture
def outsider() -> Identity:
    return Identity(subject=new_id(), role=GlobalRole.USER, project_id=new_id(), project_role=ProjectRole.ADMIN)


@pytest.fixture
def service_identity() -> Identity:
    return Identity(subject="gateway", role=GlobalRole.SERVICE)


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
