"""MemoryService over gRPC: translate the request, delegate to the domain, translate back.

Errors are domain errors; the server interceptor maps them to status codes.
"""

from __future__ import annotations

import contextlib

import grpc

from agentmesh.memory.v1 import memory_service_pb2 as pb
from agentmesh.memory.v1 import memory_service_pb2_grpc as pb_grpc
from agentmesh_core.errors import InvalidInput
from agentmesh_core.ids import parse_id
from agentmesh_grpc.identity import caller
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.rpc import mapping
from agentmesh_observability import context as log_context

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MemoryService"].full_name


class MemoryServicer(pb_grpc.MemoryServiceServicer):
    """The MemoryService RPCs; every project call is scoped to the caller's project."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    async def AddMemories(
        self, request: pb.AddMemoriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddMemoriesResponse:
        with _log_scope(request.project_id, request.agent_id):
            entries = await self._memory.add(
                caller(),
                request.project_id,
                request.agent_id,
                mapping.documents_from_proto(request.documents),
                request.idempotency_key,
            )
            return pb.AddMemoriesResponse(entries=[mapping.entry_to_proto(e) for e in entries])

    async def ListMemories(
        self, request: pb.ListMemoriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMemoriesResponse:
        with _log_scope(request.project_id, request.agent_id):
            entries, next_token = await self._memory.list_page(
                caller(), request.project_id, request.agent_id, request.page_size, request.page_token
            )
            return pb.ListMemoriesResponse(
                entries=[mapping.entry_to_proto(e) for e in entries], next_page_token=next_token
            )

    async def DeleteMemory(
        self, request: pb.DeleteMemoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteMemoryResponse:
        with _log_scope(request.project_id):
            await self._memory.delete(caller(), request.project_id, request.memory_id)
            return pb.DeleteMemoryResponse()

    async def SearchMemories(
        self, request: pb.SearchMemoriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchMemoriesResponse:
        with _log_scope(request.project_id, request.agent_id):
            hits = await self._memory.search(
                caller(),
                request.project_id,
                request.query,
                request.k,
                request.agent_id,
                mapping.struct_to_dict(request.filter),
            )
            return pb.SearchMemoriesResponse(hits=[mapping.hit_to_proto(h) for h in hits])

    async def EmbedTexts(
        self, request: pb.EmbedTextsRequest, context: grpc.aio.ServicerContext
    ) -> pb.EmbedTextsResponse:
        vectors = await self._memory.embed(caller(), list(request.texts))
        return pb.EmbedTextsResponse(
            embeddings=[mapping.embedding_to_proto(v) for v in vectors], model=self._memory.model_name
        )

    async def DeleteProjectMemories(
        self, request: pb.DeleteProjectMemoriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteProjectMemoriesResponse:
        with _log_scope(request.project_id):
            removed = await self._memory.delete_project(caller(), request.project_id)
            return pb.DeleteProjectMemoriesResponse(removed=removed)


def _log_scope(project_id: str, agent_id: str = "") -> contextlib.AbstractContextManager[None]:
    """Project and agent ids on the call's log lines (only well-formed ones: they are unchecked input)."""
    return log_context.bind(project_id=_well_formed(project_id), agent_id=_well_formed(agent_id))


def _well_formed(value: str) -> str | None:
    try:
        return parse_id(value) if value else None
    except InvalidInput:
        return None


def register(server: grpc.aio.Server, servicer: MemoryServicer) -> None:
    """Add the servicer to a grpc.aio server (ServiceServer.add_servicer calls this)."""
    pb_grpc.add_MemoryServiceServicer_to_server(servicer, server)
