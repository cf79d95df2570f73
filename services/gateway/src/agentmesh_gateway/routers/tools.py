"""The tool catalog: any user reads it, superadmins change it."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from fastapi import APIRouter, status

from agentmesh_core.errors import NotFound
from agentmesh_core.identity import Identity
from agentmesh_gateway.accounts.models import User
from agentmesh_gateway.deps import CurrentUser, Superadmin, ToolsDep
from agentmesh_gateway.schemas.common import Cursor, Limit, Page
from agentmesh_gateway.schemas.limits import TOOL_NAME_PATTERN
from agentmesh_gateway.schemas.tools import ToolIn, ToolOut, ToolPatch
from agentmesh_grpc.identity import acting_as

router = APIRouter(prefix="/tools", tags=["tools"])
_NAME = re.compile(TOOL_NAME_PATTERN)


@contextlib.contextmanager
def acting(user: User) -> Iterator[None]:
    """Bind the caller (no project: the catalog is the platform's) for the gRPC calls inside."""
    with acting_as(Identity(subject=user.id, role=user.role)):
        yield


@router.get("", response_model=Page[ToolOut])
async def list_tools(user: CurrentUser, tools: ToolsDep, limit: Limit = 50, cursor: Cursor = None) -> Page[ToolOut]:
    """Every tool agents may be granted, by name."""
    with acting(user):
        return await tools.list_tools(limit, cursor or "")


@router.post("", response_model=ToolOut, status_code=status.HTTP_201_CREATED)
async def create_tool(body: ToolIn, user: Superadmin, tools: ToolsDep) -> ToolOut:
    """Add a tool (kind mcp, named <server>.<tool>); 409 when the name is taken."""
    with acting(user):
        return await tools.create_tool(body)


@router.patch("/{name}", response_model=ToolOut)
async def update_tool(name: str, body: ToolPatch, user: Superadmin, tools: ToolsDep) -> ToolOut:
    """Change the fields given; a builtin tool can be disabled, restricted or made to ask, not redefined (409)."""
    if not _NAME.match(name):
        raise NotFound("tool not found")
    with acting(user):
        return await tools.update_tool(name, body)
