"""MemoryService through the generated stub: real model, PostgreSQL and the embedded Qdrant engine."""

from __future__ import annotations

import asyncio
import base64
import math

import grpc
import pytest
from google.protobuf import struct_pb2

from agentmesh.memory.v1 import memory_service_pb2 as pb
from agentmesh.memory.v1 import memory_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_core.pagination import encode_keyset
from agentmesh_devstack.grpc_testing import stranger_signer
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_memory.adapters.fakes import KnownAgents

PARIS = "The capital of France is Paris."
BANANAS = "Bananas are rich in potassium."
QUESTION = "Which city is France's capital?"
# Well formed (checksums are not secrets), but past any write sequence PostgreSQL can hold.
FORGED_CURSOR = encode_keyset("2026-11-30T09:00:00+00:00", str(10**30))
OFFSET_CURSOR = base64.urlsafe_b64encode(b"o:10").decode()  # what cursors were before keysets


def _struct(value: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _add(project_id: str, *texts: str, agent_id: str = "", metadata: dict | None = None) -> pb.AddMemoriesRequest:
    return pb.AddMemoriesRequest(
        project_id=project_id,
        agent_id=agent_id,
        documents=[pb.Document(content=t, metadata=_struct(metadata or {})) for t in texts],
    )


async def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code()


async def test_search_ranks_by_meaning_within_the_project(
    stub: pb_grpc.MemoryServiceStub, member: Identity, service_identity: Identity, project_id: str
) -> None:
    with acting_as(service_identity):
        await stub.AddMemories(_add(new_id(), PARIS, "Paris is the capital of France, said the other project."))
    with acting_as(member):
        added = await stub.AddMemories(_add(project_id, PARIS, BANANAS, metadata={"source": "facts", "page": 3}))
        result = await stub.SearchMemories(pb.SearchMemoriesRequest(project_id=project_id, query=QUESTION, k=5))
    assert [e.content for e in added.entries] == [PARIS, BANANAS]
    entry = added.entries[0]
    assert entry.embedding_model == "all-MiniLM-L6-v2" and entry.HasField("create_time")
    assert dict(entry.metadata) == {"source": "facts", "page": 3}

    assert [h.entry.content for h in result.hits] == [PARIS, BANANAS]
    assert all(h.entry.project_id == project_id for h in result.hits)
    paris, bananas = result.hits
    assert paris.entry.id == entry.id and paris.entry.metadata == entry.metadata
    assert 0.5 < paris.score <= 1.0 and bananas.score < paris.score - 0.3


async def test_agent_scope_and_metadata_filter(
    stub: pb_grpc.MemoryServiceStub, agents: KnownAgents, member: Identity, project_id: str, agent_id: str
) -> None:
    other_agent = new_id()
    agents.add(project_id, other_agent)
    with acting_as(member):
        await stub.AddMemories(_add(project_id, PARIS, metadata={"topic": "geo"}))
        await stub.AddMemories(_add(project_id, "Lyon is a city in France.", agent_id=agent_id))
        await stub.AddMemories(_add(project_id, "Marseille is a port in France.", agent_id=other_agent))
        scoped = await stub.SearchMemories(
            pb.SearchMemoriesRequest(project_id=project_id, query="French cities", k=10, agent_id=agent_id)
        )
        filtered = await stub.SearchMemories(
            pb.SearchMemoriesRequest(project_id=project_id, query="French cities", filter=_struct({"topic": "geo"}))
        )
    assert {h.entry.content for h in scoped.hits} == {PARIS, "Lyon is a city in France."}
    assert [h.entry.content for h in filtered.hits] == [PARIS]


async def test_list_delete_and_delete_project(
    stub: pb_grpc.MemoryServiceStub, member: Identity, admin: Identity, service_identity: Identity, project_id: str
) -> None:
    with acting_as(member):
        first = (await stub.AddMemories(_add(project_id, PARIS))).entries[0]
        second = (await stub.AddMemories(_add(project_id, BANANAS))).entries[0]
        listed = await stub.ListMemories(pb.ListMemoriesRequest(project_id=project_id, page_size=1))
        rest = await stub.ListMemories(
            pb.ListMemoriesRequest(project_id=project_id, page_size=1, page_token=listed.next_page_token)
        )
    assert [e.id for e in listed.entries] == [second.id] and [e.id for e in rest.entries] == [first.id]

    with acting_as(admin):
        await stub.DeleteMemory(pb.DeleteMemoryRequest(project_id=project_id, memory_id=first.id))
        code = await _code(stub.DeleteMemory(pb.DeleteMemoryRequest(project_id=project_id, memory_id=first.id)))
        hits = await stub.SearchMemories(pb.SearchMemoriesRequest(project_id=project_id, query=QUESTION))
    assert code == grpc.StatusCode.NOT_FOUND
    assert [h.entry.id for h in hits.hits] == [second.id]

    with acting_as(service_identity):
        removed = await stub.DeleteProjectMemories(pb.DeleteProjectMemoriesRequest(project_id=project_id))
        hits = await stub.SearchMemories(pb.SearchMemoriesRequest(project_id=project_id, query=BANANAS))
        listed = await stub.ListMemories(pb.ListMemoriesRequest(project_id=project_id))
    assert removed.removed == 1 and list(hits.hits) == [] and list(listed.entries) == []


async def test_embed_texts(stub: pb_grpc.MemoryServiceStub, outsider: Identity) -> None:
    with acting_as(outsider):
        response = await stub.EmbedTexts(pb.EmbedTextsRequest(texts=[PARIS, BANANAS]))
    assert response.model == "all-MiniLM-L6-v2"
    assert [len(e.values) for e in response.embeddings] == [384, 384]
    assert abs(sum(v * v for v in response.embeddings[0].values) - 1.0) < 1e-3


async def test_access(stub: pb_grpc.MemoryServiceStub, member: Identity, outsider: Identity, project_id: str) -> None:
    with acting_as(member):
        entry = (await stub.AddMemories(_add(project_id, PARIS))).entries[0]
        denied = await _code(stub.DeleteMemory(pb.DeleteMemoryRequest(project_id=project_id, memory_id=entry.id)))
        denied_all = await _code(stub.DeleteProjectMemories(pb.DeleteProjectMemoriesRequest(project_id=project_id)))
    assert denied == denied_all == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(outsider):
        codes = {
            await _code(stub.SearchMemories(pb.SearchMemoriesRequest(project_id=project_id, query=QUESTION))),
            await _code(stub.ListMemories(pb.ListMemoriesRequest(project_id=project_id))),
            await _code(stub.AddMemories(_add(project_id, BANANAS))),
            await _code(stub.DeleteMemory(pb.DeleteMemoryRequest(project_id=project_id, memory_id=entry.id))),
        }
    assert codes == {grpc.StatusCode.NOT_FOUND}


async def test_unauthenticated(
    stub: pb_grpc.MemoryServiceStub, address: str, member: Identity, project_id: str
) -> None:
    assert await _code(stub.EmbedTexts(pb.EmbedTextsRequest(texts=["x"]))) == grpc.StatusCode.UNAUTHENTICATED
    forged = create_channel(address, stranger_signer())
    try:
        with acting_as(member):
            call = pb_grpc.MemoryServiceStub(forged).ListMemories(pb.ListMemoriesRequest(project_id=project_id))
            assert await _code(call) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await forged.close()


@pytest.mark.parametrize(
    "request_",
    [
        pb.SearchMemoriesRequest(query=QUESTION, k=-1),
        pb.SearchMemoriesRequest(query=""),
        pb.SearchMemoriesRequest(query="x" * 2001),
        pb.SearchMemoriesRequest(query=QUESTION, k=51),
    ],
)
async def test_bad_search_input(
    stub: pb_grpc.MemoryServiceStub, member: Identity, project_id: str, request_: pb.SearchMemoriesRequest
) -> None:
    request_.project_id = project_id
    with acting_as(member):
        assert await _code(stub.SearchMemories(request_)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_bad_ids_and_documents(stub: pb_grpc.MemoryServiceStub, member: Identity, project_id: str) -> None:
    with acting_as(member):
        codes = [
            await _code(stub.SearchMemories(pb.SearchMemoriesRequest(project_id="not-a-uuid", query=QUESTION))),
            await _code(stub.AddMemories(_add(project_id, PARIS, agent_id="agent-7"))),
            await _code(stub.AddMemories(_add(project_id))),
            await _code(stub.AddMemories(_add(project_id, "x" * 100_001))),
            await _code(stub.AddMemories(_add(project_id, PARIS, metadata={"blob": "x" * 9000}))),
            await _code(stub.EmbedTexts(pb.EmbedTextsRequest(texts=["x"] * 65))),
            await _code(stub.ListMemories(pb.ListMemoriesRequest(project_id=project_id, page_token="???"))),
            await _code(stub.ListMemories(pb.ListMemoriesRequest(project_id=project_id, page_token=FORGED_CURSOR))),
            await _code(stub.ListMemories(pb.ListMemoriesRequest(project_id=project_id, page_token=OFFSET_CURSOR))),
            await _code(stub.AddMemories(_add(project_id, "NUL \x00 in the text"))),
            await _code(stub.AddMemories(_add(project_id, PARIS, metadata={"score": math.nan}))),
            await _code(stub.AddMemories(_add(project_id, PARIS, metadata={"note": "NUL \x00"}))),
            await _code(stub.AddMemories(_add(project_id, *(["x" * 100_000] * 3)))),
            await _code(stub.EmbedTexts(pb.EmbedTextsRequest(texts=["x" * 10_001]))),
            await _code(
                stub.SearchMemories(
                    pb.SearchMemoriesRequest(project_id=project_id, query=QUESTION, filter=_struct({"a": math.inf}))
                )
            ),
        ]
    assert set(codes) == {grpc.StatusCode.INVALID_ARGUMENT}
    with acting_as(member):
        listed = await stub.ListMemories(pb.ListMemoriesRequest(project_id=project_id))
    assert list(listed.entries) == []  # nothing of the rejected calls was stored


async def test_concurrent_adds_with_one_key_store_one_set_of_entries(
    stub: pb_grpc.MemoryServiceStub, member: Identity, project_id: str
) -> None:
    request = _add(project_id, PARIS, BANANAS)
    request.idempotency_key = "bulk-import-1"
    with acting_as(member):
        answers = await asyncio.gather(*(stub.AddMemories(request) for _ in range(4)))
        listed = await stub.ListMemories(pb.ListMemoriesRequest(project_id=project_id))
        hits = await stub.SearchMemories(pb.SearchMemoriesRequest(project_id=project_id, query=QUESTION, k=5))
    [ids] = {tuple(e.id for e in answer.entries) for answer in answers}
    assert len(ids) == 2
    assert sorted(e.id for e in listed.entries) == sorted(ids)
    assert sorted(h.entry.id for h in hits.hits) == sorted(ids)
    with acting_as(member):
        request.idempotency_key = "x" * 201
        assert await _code(stub.AddMemories(request)) == grpc.StatusCode.INVALID_ARGUMENT
