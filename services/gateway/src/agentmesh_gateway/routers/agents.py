"""Agents of a project: read as a member, write as an admin."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from agentmesh_gateway.deps import AdminScope, AgentsDep, Scope, path_id
from agentmesh_gateway.schemas.agents import AgentIn, AgentOut, AgentPatch
from agentmesh_gateway.schemas.common import Cursor, Limit, Page

router = APIRouter(prefix="/projects/{project_id}/agents", tags=["agents"])


@router.post("", response_model=AgentOut, status_code=status.HTTP_201_CREATED)
async def create_agent(body: AgentIn, scope: AdminScope, agents: AgentsDep) -> AgentOut:
    with scope.acting():
        return await agents.create_agent(scope.project.id, body)


@router.get("", response_model=Page[AgentOut])
async def list_agents(scope: Scope, agents: AgentsDep, limit: Limit = 50, cursor: Cursor = None) -> Page[AgentOut]:
    with scope.acting():
        return await agents.list_agents(scope.project.id, limit, cursor or "")


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: str, scope: Scope, agents: AgentsDep) -> AgentOut:
    with scope.acting():
        return await agents.get_agent(scope.project.id, path_id(agent_id, "agent"))


@router.patch("/{agent_id}", response_model=AgentOut)
async def update_agent(agent_id: str, body: AgentPatch, scope: AdminScope, agents: AgentsDep) -> AgentOut:
    """Change the fields given; the others stay as they are."""
    with scope.acting():
        return await agents.update_agent(scope.project.id, path_id(agent_id, "agent"), body)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(agent_id: str, scope: AdminScope, agents: AgentsDep) -> Response:
    with scope.acting():
        await agents.delete_agent(scope.project.id, path_id(agent_id, "agent"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
