"""MCP servers as the agents service keeps them: where they are, their secret headers, their tools."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentmesh_agents.domain.models import utcnow


@dataclass(frozen=True, slots=True)
class McpServer:
    """A registered MCP server (streamable HTTP).

    `headers` hold secrets (stored encrypted, never returned by the API);
    `tools` maps the catalog suffix (`<server>.<suffix>`) to the server's own
    tool name, which may use characters the catalog does not allow.
    """

    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    refreshed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RemoteTool:
    """A tool as an MCP server lists it."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RemoteResult:
    """What a tool call on an MCP server gave back, as text."""

    text: str
    error: bool = False
