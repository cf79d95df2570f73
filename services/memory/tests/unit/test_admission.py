"""Per-project limits on adds and searches: refused at once (ResourceExhausted with a
retry time), nothing stored, and other projects unaffected."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from agentmesh_core.errors import ResourceExhausted
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_memory.adapters.fakes import HashingEmbedder, InMemoryEntryRepository, InMemoryVectorIndex, KnownAgents
from agentmesh_memory.domain.admission import ProjectAdmission, ProjectQuotas
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.domain.models import Document


class GatedEmbedder(HashingEmbedder):
    """Bulk embedding waits at a gate, so an add stays in progress while the test looks."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def embed(self, texts: Sequence[str], bulk_for: str | None = None) -> list[list[float]]:
        if bulk_for is not None:
            self.entered.set()
            await self.gate.wait()
        return await super().embed(texts, bulk_for)


def _member(project_id: str) -> Identity:
    return Identity(new_id(), GlobalRole.USER, project_id=project_id, project_role=ProjectRole.USER)


@pytest.fixture
def embedder() -> GatedEmbedder:
    return GatedEmbedder()


@pytest.fixture
def memory(
    repository: InMemoryEntryRepository, index: InMemoryVectorIndex, embedder: GatedEmbedder, agents: KnownAgents
) -> Memory:
    quotas = ProjectQuotas(adds_in_flight=1, add_rate="3/minute", search_rate="2/minute")
    return Memory(repository, index, embedder, agents, admission=ProjectAdmission(quotas))


async def test_a_second_add_in_flight_is_refused_while_another_project_adds(
    memory: Memory, embedder: GatedEmbedder, repository: InMemoryEntryRepository, project_id: str
) -> None:
    first = asyncio.create_task(memory.add(_member(project_id), project_id, "", [Document("the first add")]))
    await embedder.entered.wait()

    with pytest.raises(ResourceExhausted, match="too many memory adds in progress") as refused:
        await memory.add(_member(project_id), project_id, "", [Document("one more")])
    assert refused.value.retry_after
    # Admission comes before any other work: not even the documents are looked at.
    with pytest.raises(ResourceExhausted):
        await memory.add(_member(project_id), project_id, "", [])
    assert len(embedder.calls) == 0
    other = new_id()
    second = asyncio.create_task(memory.add(_member(other), other, "", [Document("another project")]))

    embedder.gate.set()
    await first
    await second
    assert sorted(e.content for e in repository.entries.values()) == ["another project", "the first add"]
    await memory.add(_member(project_id), project_id, "", [Document("after the first")])  # the slot is free again


async def test_adds_past_the_projects_rate_are_refused(
    memory: Memory, embedder: GatedEmbedder, project_id: str
) -> None:
    embedder.gate.set()
    for i in range(3):
        await memory.add(_member(project_id), project_id, "", [Document(f"doc {i}")])
    with pytest.raises(ResourceExhausted, match="too many memory adds") as refused:
        await memory.add(_member(project_id), project_id, "", [Document("doc 4")])
    assert 0 < (refused.value.retry_after or 0) <= 60
    other = new_id()
    await memory.add(_member(other), other, "", [Document("elsewhere")])


async def test_searches_past_the_projects_rate_are_refused_before_embedding(
    memory: Memory, embedder: GatedEmbedder, project_id: str
) -> None:
    for _ in range(2):
        await memory.search(_member(project_id), project_id, "query", 5, "", {})
    calls = len(embedder.calls)
    with pytest.raises(ResourceExhausted, match="too many memory searches"):
        await memory.search(_member(project_id), project_id, "query", 5, "", {})
    assert len(embedder.calls) == calls
    other = new_id()
    await memory.search(_member(other), other, "query", 5, "", {})


async def test_adds_are_bulk_work_of_their_project_and_queries_interactive(
    memory: Memory, embedder: GatedEmbedder, project_id: str
) -> None:
    embedder.gate.set()
    await memory.add(_member(project_id), project_id, "", [Document("text")])
    await memory.search(_member(project_id), project_id, "text", 5, "", {})
    assert embedder.owners == [project_id, None]
