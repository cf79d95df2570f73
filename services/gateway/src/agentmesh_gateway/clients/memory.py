"""MemoryService wrapper: HTTP schemas <-> protos, deadlines, errors."""

from __future__ import annotations

import grpc

from agentmesh.memory.v1 import memory_service_pb2, memory_service_pb2_grpc
from agentmesh_gateway.clients.convert import (
    READ_TIMEOUT,
    SLOW_TIMEOUT,
    WRITE_TIMEOUT,
    from_struct,
    from_timestamp,
    rpc,
    to_struct,
)
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.memory import MemoryEntryOut, MemoryIn, SearchHitOut, SearchIn

_SERVICE = "memory"


def entry_out(entry: memory_service_pb2.MemoryEntry) -> MemoryEntryOut:
    return MemoryEntryOut(
        id=entry.id,
        project_id=entry.project_id,
        agent_id=entry.agent_id or None,
        content=entry.content,
        metadata=from_struct(entry.metadata),
        embedding_model=entry.embedding_model,
        created_at=from_timestamp(entry.create_time),
    )


class MemoryClient:
    """MemoryApi over gRPC."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = memory_service_pb2_grpc.MemoryServiceStub(channel)

    async def add_memories(self, project_id: str, memory: MemoryIn) -> list[MemoryEntryOut]:
        request = memory_service_pb2.AddMemoriesRequest(
            project_id=project_id,
            agent_id=str(memory.agent_id) if memory.agent_id else "",
            documents=[
                memory_service_pb2.Document(content=d["content"], metadata=to_struct(d["metadata"]))
                for d in memory.as_documents()
            ],
            idempotency_key=memory.idempotency_key or "",
        )
        # Embedding long text takes a while on a CPU.
        response = await rpc(_SERVICE, self._stub.AddMemories(request, timeout=SLOW_TIMEOUT))
        return [entry_out(e) for e in response.entries]

    async def list_memories(self, project_id: str, agent_id: str, limit: int, cursor: str) -> Page[MemoryEntryOut]:
        request = memory_service_pb2.ListMemoriesRequest(
            project_id=project_id, agent_id=agent_id, page_size=limit, page_token=cursor
        )
        response = await rpc(_SERVICE, self._stub.ListMemories(request, timeout=READ_TIMEOUT))
        return Page(items=[entry_out(e) for e in response.entries], next_cursor=response.next_page_token or None)

    async def delete_memory(self, project_id: str, memory_id: str) -> None:
        request = memory_service_pb2.DeleteMemoryRequest(project_id=project_id, memory_id=memory_id)
        await rpc(_SERVICE, self._stub.DeleteMemory(request, timeout=WRITE_TIMEOUT))

    async def search_memories(self, project_id: str, search: SearchIn) -> list[SearchHitOut]:
        request = memory_service_pb2.SearchMemoriesRequest(
            project_id=project_id,
            query=search.query,
            k=search.k,
            agent_id=str(search.agent_id) if search.agent_id else "",
            filter=to_struct(search.filter),
        )
        response = await rpc(_SERVICE, self._stub.SearchMemories(request, timeout=WRITE_TIMEOUT))
        return [
            SearchHitOut(
                id=hit.entry.id,
                content=hit.entry.content,
                metadata=from_struct(hit.entry.metadata),
                score=round(float(hit.score), 6),
                agent_id=hit.entry.agent_id or None,
            )
            for hit in response.hits
        ]

    async def delete_project_memories(self, project_id: str) -> None:
        request = memory_service_pb2.DeleteProjectMemoriesRequest(project_id=project_id)
        await rpc(_SERVICE, self._stub.DeleteProjectMemories(request, timeout=SLOW_TIMEOUT))

    async def embed_texts(self, texts: list[str]) -> tuple[str, list[list[float]]]:
        request = memory_service_pb2.EmbedTextsRequest(texts=texts)
        response = await rpc(_SERVICE, self._stub.EmbedTexts(request, timeout=SLOW_TIMEOUT))
        return response.model, [list(e.values) for e in response.embeddings]
