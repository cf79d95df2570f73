"""Agents of a project."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from agentmesh_core.pagination import decode_cursor
from agentmesh_gateway.deps import AdminScope, Scope, State, path_id
from agentmesh_gateway.schemas.agents import AgentIn, AgentOut, AgentPatch
from agentmesh_gateway.schemas.common import Cursor, Limit, Page, page

router = APIRouter(prefix="/projects/{project_id}/agents", tags=["agents"])


@router.post("", response_model=AgentOut, status_code=status.HTTP_201_CREATED)
async def create_agent(body: AgentIn, scope: AdminScope, state: State) -> dict:
    with scope.acting():
        return await state.agents.create_agent(scope.project.id, body.model_dump(by_alias=True))


@router.get("", response_model=Page[AgentOut])
async def list_agents(scope: Scope, state: State, limit: Limit = 50, cursor: Cursor = None) -> dict:
    decode_cursor(cursor or "")  # reject a malformed cursor here, with a clear 400
    with scope.acting():
        return page(*await state.agents.list_agents(scope.project.id, limit, cursor or ""))


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: str, scope: Scope, state: State) -> dict:
    with scope.acting():
        return await state.agents.get_agent(scope.project.id, path_id(agent_id, "agent"))


@router.patch("/{agent_id}", response_model=AgentOut)
async def update_agent(agent_id: str, body: AgentPatch, scope: AdminScope, state: State) -> dict:
    changes = body.model_dump(by_alias=True, exclude_unset=True)
    with scope.acting():
        return await state.agents.update_agent(scope.project.id, path_id(agent_id, "agent"), changes)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(agent_id: str, scope: AdminScope, state: State) -> Response:
    with scope.acting():
        await state.agents.delete_agent(scope.project.id, path_id(agent_id, "agent"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
