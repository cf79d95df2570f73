"""The use cases over in-memory fakes: scope, limits, consistency, search filters."""

from __future__ import annotations

import pytest

from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_memory.adapters.fakes import HashingEmbedder, InMemoryEntryRepository, InMemoryVectorIndex, KnownAgents
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.domain.models import Document


async def test_add_stores_rows_and_vectors(
    memory: Memory, repository: InMemoryEntryRepository, index: InMemoryVectorIndex, member: Identity, project_id: str
) -> None:
    entries = await memory.add(member, project_id, "", [Document("Paris is in France.", {"source": "atlas"})])
    [entry] = entries
    assert entry.project_id == project_id and entry.agent_id is None
    assert entry.metadata == {"source": "atlas"} and entry.embedding_model == "fake-hashing"
    assert repository.entries[entry.id] == entry
    point = index.points[entry.id]
    assert point.project_id == project_id and point.metadata == {"source": "atlas"}


async def test_long_documents_are_chunked_in_order_with_positions(
    memory: Memory, embedder: HashingEmbedder, member: Identity, project_id: str, agent_id: str
) -> None:
    long_text = " ".join(f"Fact {i} is about item {i}." for i in range(300))
    entries = await memory.add(member, project_id, agent_id, [Document("short one"), Document(long_text, {"k": 1})])
    assert entries[0].content == "short one" and "chunk_index" not in entries[0].metadata
    chunks = entries[1:]
    assert len(chunks) > 2
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))
    assert {c.metadata["chunk_count"] for c in chunks} == {len(chunks)}
    assert all(c.metadata["k"] == 1 and c.agent_id == agent_id for c in chunks)
    assert len(embedder.calls) == 1  # one batch for the whole call


async def test_failed_vector_upsert_leaves_nothing(
    memory: Memory, repository: InMemoryEntryRepository, index: InMemoryVectorIndex, member: Identity, project_id: str
) -> None:
    index.fail_next_upsert = Unavailable("vector index unavailable")
    with pytest.raises(Unavailable):
        await memory.add(member, project_id, "", [Document(f"doc {i}") for i in range(4)])
    assert repository.entries == {} and index.points == {}


async def test_failed_row_insert_leaves_nothing(
    memory: Memory, repository: InMemoryEntryRepository, index: InMemoryVectorIndex, member: Identity, project_id: str
) -> None:
    repository.fail_next_add = Unavailable("database unavailable")
    with pytest.raises(Unavailable):
        await memory.add(member, project_id, "", [Document("doc")])
    assert repository.entries == {} and index.points == {}


@pytest.mark.parametrize(
    "documents",
    [
        [],
        [Document("")],
        [Document("   ")],
        [Document("x" * 100_001)],
        [Document("ok")] * 65,
        [Document("ok", {"blob": "x" * 9000})],
    ],
)
async def test_add_rejects_bad_documents(memory: Memory, member: Identity, project_id: str, documents) -> None:
    with pytest.raises(InvalidInput):
        await memory.add(member, project_id, "", documents)


async def test_add_accepts_the_limits(memory: Memory, member: Identity, project_id: str) -> None:
    entries = await memory.add(member, project_id, "", [Document("ok")] * 64)
    assert len(entries) == 64


async def test_access_rules(
    memory: Memory, member: Identity, admin: Identity, outsider: Identity, project_id: str
) -> None:
    [entry] = await memory.add(member, project_id, "", [Document("secret plans")])
    with pytest.raises(NotFound):
        await memory.add(outsider, project_id, "", [Document("x")])
    with pytest.raises(NotFound):
        await memory.search(outsider, project_id, "plans", 5, "", {})
    with pytest.raises(NotFound):
        await memory.list_page(outsider, project_id, "", 0, "")
    with pytest.raises(PermissionDenied):
        await memory.delete(member, project_id, entry.id)
    with pytest.raises(PermissionDenied):
        await memory.delete_project(member, project_id)
    await memory.delete(admin, project_id, entry.id)


async def test_non_members_learn_nothing_from_bad_input(memory: Memory, outsider: Identity, project_id: str) -> None:
    with pytest.raises(NotFound):
        await memory.search(outsider, project_id, "", -1, "not-a-uuid", {})


async def test_delete_removes_row_and_vector(
    memory: Memory,
    repository: InMemoryEntryRepository,
    index: InMemoryVectorIndex,
    member: Identity,
    admin: Identity,
    project_id: str,
) -> None:
    [entry] = await memory.add(member, project_id, "", [Document("to forget")])
    await memory.delete(admin, project_id, entry.id)
    assert repository.entries == {} and index.points == {}
    with pytest.raises(NotFound):
        await memory.delete(admin, project_id, entry.id)


async def test_delete_of_another_projects_entry_is_not_found(
    memory: Memory, service_identity: Identity, admin: Identity, project_id: str
) -> None:
    [other] = await memory.add(service_identity, new_id(), "", [Document("elsewhere")])
    with pytest.raises(NotFound):
        await memory.delete(admin, project_id, other.id)
    with pytest.raises(InvalidInput):
        await memory.delete(admin, project_id, "nope")


async def test_list_newest_first_with_pages(memory: Memory, member: Identity, project_id: str, agent_id: str) -> None:
    first = await memory.add(member, project_id, "", [Document("one"), Document("two")])
    second = await memory.add(member, project_id, agent_id, [Document("three")])
    page, token = await memory.list_page(member, project_id, "", 2, "")
    assert [e.content for e in page] == ["three", "two"] and token
    edited = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidInput, match="invalid cursor"):
        await memory.list_page(member, project_id, "", 2, edited)
    await memory.add(member, project_id, "", [Document("four")])  # newer than the page read: not repeated
    rest, token = await memory.list_page(member, project_id, "", 2, token)
    assert [e.content for e in rest] == ["one"] and token == ""
    mine, _ = await memory.list_page(member, project_id, agent_id, 0, "")
    assert [e.id for e in mine] == [second[0].id]
    assert len(first) == 2


async def test_search_ranks_and_scopes(
    memory: Memory, agents: KnownAgents, member: Identity, service_identity: Identity, project_id: str, agent_id: str
) -> None:
    other_agent = new_id()
    agents.add(project_id, other_agent)
    await memory.add(member, project_id, "", [Document("the red car is fast", {"kind": "car", "n": 2})])
    await memory.add(member, project_id, agent_id, [Document("the red apple is sweet", {"kind": "fruit"})])
    await memory.add(member, project_id, other_agent, [Document("the red bus is slow")])
    await memory.add(service_identity, new_id(), "", [Document("the red car is fast")])

    hits = await memory.search(member, project_id, "red car", 0, "", {})
    assert hits[0].entry.content == "the red car is fast"
    assert len(hits) == 3 and all(h.entry.project_id == project_id for h in hits)
    assert hits == sorted(hits, key=lambda h: h.score, reverse=True)

    scoped = await memory.search(member, project_id, "red", 10, agent_id, {})
    assert {h.entry.content for h in scoped} == {"the red car is fast", "the red apple is sweet"}

    filtered = await memory.search(member, project_id, "red", 10, "", {"kind": "fruit"})
    assert [h.entry.content for h in filtered] == ["the red apple is sweet"]
    numeric = await memory.search(member, project_id, "red", 10, "", {"n": 2.0})
    assert [h.entry.content for h in numeric] == ["the red car is fast"]

    assert len(await memory.search(member, project_id, "red", 1, "", {})) == 1


@pytest.mark.parametrize(
    ("query", "k", "agent", "filter_"),
    [
        ("", 5, "", {}),
        ("   ", 5, "", {}),
        ("q" * 2001, 5, "", {}),
        ("ok", -1, "", {}),
        ("ok", 51, "", {}),
        ("ok", 5, "not-a-uuid", {}),
        ("ok", 5, "", {"nested": {"a": 1}}),
        ("ok", 5, "", {"a.b": "x"}),
        ("ok", 5, "", {"list": [1]}),
        ("ok", 5, "", {"none": None}),
    ],
)
async def test_search_rejects_bad_input(
    memory: Memory, member: Identity, project_id: str, query: str, k: int, agent: str, filter_: dict
) -> None:
    with pytest.raises(InvalidInput):
        await memory.search(member, project_id, query, k, agent, filter_)


async def test_search_skips_vectors_without_rows(
    memory: Memory, repository: InMemoryEntryRepository, member: Identity, project_id: str
) -> None:
    [entry] = await memory.add(member, project_id, "", [Document("orphan vector")])
    del repository.entries[entry.id]
    assert await memory.search(member, project_id, "orphan", 5, "", {}) == []


async def test_delete_project_removes_only_that_project(
    memory: Memory,
    repository: InMemoryEntryRepository,
    index: InMemoryVectorIndex,
    member: Identity,
    admin: Identity,
    service_identity: Identity,
    project_id: str,
) -> None:
    await memory.add(member, project_id, "", [Document("a"), Document("b")])
    [kept] = await memory.add(service_identity, new_id(), "", [Document("c")])
    assert await memory.delete_project(admin, project_id) == 2
    assert await memory.delete_project(service_identity, project_id) == 0
    assert list(repository.entries) == [kept.id] and list(index.points) == [kept.id]


async def test_embed(memory: Memory, outsider: Identity) -> None:
    vectors = await memory.embed(outsider, ["one", "two"])
    assert len(vectors) == 2 and len(vectors[0]) == 64
    for bad in ([], [""], ["x"] * 65):
        with pytest.raises(InvalidInput):
            await memory.embed(outsider, bad)


async def test_an_entry_names_an_agent_of_its_project(
    memory: Memory,
    agents: KnownAgents,
    repository: InMemoryEntryRepository,
    member: Identity,
    project_id: str,
    agent_id: str,
) -> None:
    """An agent of another project, or a made-up id, is NotFound and nothing is stored."""
    elsewhere = new_id()
    foreign = new_id()
    agents.add(elsewhere, foreign)
    for unknown in (foreign, new_id()):
        with pytest.raises(NotFound, match="agent not found"):
            await memory.add(member, project_id, unknown, [Document("not mine")])
    assert repository.entries == {}
    [entry] = await memory.add(member, project_id, agent_id, [Document("mine")])
    assert entry.agent_id == agent_id
