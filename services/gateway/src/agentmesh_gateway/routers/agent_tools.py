"""An agent's granted tools: read as a member, replace as an admin (restricted tools: superadmin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from agentmesh_gateway.deps import AdminScope, Scope, ToolsDep, path_id
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.limits import GRANTS_MAX
from agentmesh_gateway.schemas.tools import GrantIn, GrantOut

router = APIRouter(prefix="/projects/{project_id}/agents/{agent_id}/tools", tags=["tools"])

Grants = Annotated[list[GrantIn], Body(max_length=GRANTS_MAX, description="the agent's whole set of tools")]


@router.get("", response_model=Page[GrantOut])
async def get_agent_tools(agent_id: str, scope: Scope, tools: ToolsDep) -> Page[GrantOut]:
    """The tools granted to the agent, by name."""
    with scope.acting():
        return Page(items=await tools.agent_tools(scope.project.id, path_id(agent_id, "agent")))


@router.put("", response_model=Page[GrantOut])
async def set_agent_tools(agent_id: str, body: Grants, scope: AdminScope, tools: ToolsDep) -> Page[GrantOut]:
    """Replace the agent's grants with the list given (an empty list removes them all)."""
    with scope.acting():
        return Page(items=await tools.set_agent_tools(scope.project.id, path_id(agent_id, "agent"), body))
