"""MemoryService wrapper."""

from __future__ import annotations

from typing import Any

import grpc

from agentmesh.memory.v1 import memory_service_pb2, memory_service_pb2_grpc
from agentmesh_gateway.clients.convert import from_struct, from_timestamp, rpc, to_struct


def entry_to_dict(entry: memory_service_pb2.MemoryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "project_id": entry.project_id,
        "agent_id": entry.agent_id or None,
        "content": entry.content,
        "metadata": from_struct(entry.metadata),
        "embedding_model": entry.embedding_model,
        "created_at": from_timestamp(entry.create_time),
    }


class MemoryClient:
    """Typed calls on MemoryService."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = memory_service_pb2_grpc.MemoryServiceStub(channel)

    async def add(self, project_id: str, agent_id: str, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        request = memory_service_pb2.AddMemoriesRequest(
            project_id=project_id,
            agent_id=agent_id,
            documents=[
                memory_service_pb2.Document(content=d["content"], metadata=to_struct(d.get("metadata")))
                for d in documents
            ],
        )
        response = await rpc(self._stub.AddMemories(request, timeout=60))
        return [entry_to_dict(e) for e in response.entries]

    async def list(self, project_id: str, agent_id: str, limit: int, cursor: str) -> tuple[list[dict], str]:
        request = memory_service_pb2.ListMemoriesRequest(
            project_id=project_id, agent_id=agent_id, page_size=limit, page_token=cursor
        )
        response = await rpc(self._stub.ListMemories(request))
        return [entry_to_dict(e) for e in response.entries], response.next_page_token

    async def delete(self, project_id: str, memory_id: str) -> None:
        request = memory_service_pb2.DeleteMemoryRequest(project_id=project_id, memory_id=memory_id)
        await rpc(self._stub.DeleteMemory(request))

    async def search(
        self, project_id: str, query: str, k: int, agent_id: str, filters: dict | None
    ) -> list[dict[str, Any]]:
        request = memory_service_pb2.SearchMemoriesRequest(
            project_id=project_id, query=query, k=k, agent_id=agent_id, filter=to_struct(filters)
        )
        response = await rpc(self._stub.SearchMemories(request))
        return [
            {**entry_to_dict(hit.entry), "score": round(float(hit.score), 6)}
            for hit in response.hits
        ]  # fmt: skip

    async def delete_project(self, project_id: str) -> None:
        request = memory_service_pb2.DeleteProjectMemoriesRequest(project_id=project_id)
        await rpc(self._stub.DeleteProjectMemories(request, timeout=60))
