"""MCP servers: Superadmins register, list, refresh and remove them; their tools join the catalog."""

from __future__ import annotations

import re

from fastapi import APIRouter, status

from agentmesh_core.errors import NotFound
from agentmesh_gateway.deps import Superadmin, ToolsDep
from agentmesh_gateway.routers.tools import acting
from agentmesh_gateway.schemas.mcp_servers import MCP_SERVER_NAME_PATTERN, McpRefreshOut, McpServerIn, McpServerOut

router = APIRouter(prefix="/tools/mcp-servers", tags=["tools"])
_NAME = re.compile(MCP_SERVER_NAME_PATTERN)


def _known(name: str) -> str:
    if not _NAME.match(name):
        raise NotFound("mcp server not found")
    return name


@router.post("", response_model=McpServerOut, status_code=status.HTTP_201_CREATED)
async def create_mcp_server(body: McpServerIn, user: Superadmin, tools: ToolsDep) -> McpServerOut:
    """Register a server after reading its tools (409 when it cannot be reached or the name is taken)."""
    with acting(user):
        return await tools.create_mcp_server(body)


@router.get("", response_model=list[McpServerOut])
async def list_mcp_servers(user: Superadmin, tools: ToolsDep) -> list[McpServerOut]:
    """The registered servers, by name (header names only)."""
    with acting(user):
        return await tools.list_mcp_servers()


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_mcp_server(name: str, user: Superadmin, tools: ToolsDep) -> None:
    """Remove a server and its tools (and every grant of them)."""
    with acting(user):
        await tools.delete_mcp_server(_known(name))


@router.post("/{name}/refresh", response_model=McpRefreshOut)
async def refresh_mcp_server(name: str, user: Superadmin, tools: ToolsDep) -> McpRefreshOut:
    """Read the server's tools again: new ones added, changed ones updated, gone ones removed."""
    with acting(user):
        return await tools.refresh_mcp_server(_known(name))
