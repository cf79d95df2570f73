"""Memory port over gRPC: MemoryService.SearchMemories, ListMemories (one entry: is there any) and AddMemories."""

from __future__ import annotations

import grpc

from agentmesh.memory.v1 import memory_service_pb2 as pb
from agentmesh.memory.v1 import memory_service_pb2_grpc
from agentmesh_agents.adapters.service_identity import AGENTS_SERVICE
from agentmesh_core.identity import Identity
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.identity import acting_as


class MemoryClient:
    """Searches and adds to project memory, acting as the agents service."""

    def __init__(self, channel: grpc.aio.Channel, timeout: float, identity: Identity = AGENTS_SERVICE) -> None:
        self._stub = memory_service_pb2_grpc.MemoryServiceStub(channel)
        self._timeout = timeout
        self._identity = identity

    async def search(self, project_id: str, agent_id: str, query: str, k: int) -> list[str]:
        request = pb.SearchMemoriesRequest(project_id=project_id, query=query, k=k, agent_id=agent_id)
        try:
            with acting_as(self._identity):
                response = await self._stub.SearchMemories(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return [hit.entry.content for hit in response.hits]

    async def has_entries(self, project_id: str) -> bool:
        request = pb.ListMemoriesRequest(project_id=project_id, page_size=1)
        try:
            with acting_as(self._identity):
                response = await self._stub.ListMemories(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return bool(response.entries)

    async def store(self, project_id: str, agent_id: str, content: str, idempotency_key: str = "") -> str:
        request = pb.AddMemoriesRequest(
            project_id=project_id,
            agent_id=agent_id,
            documents=[pb.Document(content=content)],
            idempotency_key=idempotency_key,
        )
        try:
            with acting_as(self._identity):
                response = await self._stub.AddMemories(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return response.entries[0].id if response.entries else ""
