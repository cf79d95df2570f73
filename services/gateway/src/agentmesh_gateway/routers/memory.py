"""Project memory: add and search as a member, delete as an admin."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from agentmesh_gateway.deps import AdminScope, MemoryDep, Scope, path_id
from agentmesh_gateway.schemas.common import Cursor, Limit, Page
from agentmesh_gateway.schemas.memory import MemoryEntryOut, MemoryIn, SearchHitOut, SearchIn

router = APIRouter(prefix="/projects/{project_id}/memory", tags=["memory"])


@router.post("", response_model=Page[MemoryEntryOut], status_code=status.HTTP_201_CREATED)
async def add_memory(body: MemoryIn, scope: Scope, memory: MemoryDep) -> Page[MemoryEntryOut]:
    """Store `content` or `documents` (long text is chunked); returns the entries made."""
    with scope.acting():
        return Page(items=await memory.add_memories(scope.project.id, body))


@router.get("", response_model=Page[MemoryEntryOut])
async def list_memory(
    scope: Scope,
    memory: MemoryDep,
    agent_id: Annotated[UUID | None, Query(description="only this agent's entries")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[MemoryEntryOut]:
    with scope.acting():
        return await memory.list_memories(scope.project.id, str(agent_id) if agent_id else "", limit, cursor or "")


@router.delete("/{memory_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_memory(memory_id: str, scope: AdminScope, memory: MemoryDep) -> Response:
    with scope.acting():
        await memory.delete_memory(scope.project.id, path_id(memory_id, "memory entry"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/search", response_model=Page[SearchHitOut])
async def search_memory(body: SearchIn, scope: Scope, memory: MemoryDep) -> Page[SearchHitOut]:
    """The `k` entries closest in meaning to the query, best first."""
    with scope.acting():
        return Page(items=await memory.search_memories(scope.project.id, body))
