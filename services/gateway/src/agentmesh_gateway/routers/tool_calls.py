"""The audit of a project's tool calls, allowed or refused: project admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agentmesh_core.ids import parse_id
from agentmesh_gateway.deps import AdminScope, ToolsDep
from agentmesh_gateway.schemas.common import Cursor, Limit, Page
from agentmesh_gateway.schemas.tools import ToolCallOut

router = APIRouter(prefix="/projects/{project_id}/tool-calls", tags=["tools"])


@router.get("", response_model=Page[ToolCallOut])
async def list_tool_calls(
    scope: AdminScope,
    tools: ToolsDep,
    agent_id: Annotated[str | None, Query(max_length=64, description="calls by this agent")] = None,
    message_id: Annotated[str | None, Query(max_length=64, description="calls made answering this message")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ToolCallOut]:
    """Every tool call, newest first: agent, message, tool, arguments, outcome, duration."""
    agent = parse_id(agent_id, "agent_id") if agent_id else ""
    message = parse_id(message_id, "message_id") if message_id else ""
    with scope.acting():
        return await tools.list_tool_calls(scope.project.id, agent, message, limit, cursor or "")
