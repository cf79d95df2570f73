"""Project memory: add, list, delete, search."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from agentmesh_core.pagination import decode_cursor
from agentmesh_gateway.deps import AdminScope, Scope, State, path_id
from agentmesh_gateway.schemas.common import Cursor, Limit, Page, page
from agentmesh_gateway.schemas.memory import MemoryEntryOut, MemoryIn, SearchHitOut, SearchIn

router = APIRouter(prefix="/projects/{project_id}/memory", tags=["memory"])


@router.post("", response_model=Page[MemoryEntryOut], status_code=status.HTTP_201_CREATED)
async def add_memory(body: MemoryIn, scope: Scope, state: State) -> dict:
    """Store text (long text is chunked); returns the entries made."""
    agent_id = str(body.agent_id) if body.agent_id else ""
    with scope.acting():
        return page(await state.memory.add(scope.project.id, agent_id, body.as_documents()), "")


@router.get("", response_model=Page[MemoryEntryOut])
async def list_memory(scope: Scope, state: State, limit: Limit = 50, cursor: Cursor = None) -> dict:
    decode_cursor(cursor or "")
    with scope.acting():
        return page(*await state.memory.list(scope.project.id, "", limit, cursor or ""))


@router.delete("/{memory_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_memory(memory_id: str, scope: AdminScope, state: State) -> Response:
    with scope.acting():
        await state.memory.delete(scope.project.id, path_id(memory_id, "memory entry"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/search", response_model=Page[SearchHitOut])
async def search_memory(body: SearchIn, scope: Scope, state: State) -> dict:
    """Entries closest in meaning to the query, best first."""
    agent_id = str(body.agent_id) if body.agent_id else ""
    with scope.acting():
        return page(await state.memory.search(scope.project.id, body.query, body.k, agent_id, body.filter), "")
