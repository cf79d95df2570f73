"""MCP servers: registered by Superadmins, their tools read into the catalog, their calls made.

A server's tools join the catalog as `<server>.<tool>` (kind mcp) when it is
registered and whenever it is refreshed; a tool whose name or schema the
catalog cannot hold is skipped and logged, never stored half-valid. A call
looks the server up at run time, so a deleted server's tool is an error
observation, and a server that is down is one too (the SDK's failure becomes
Unavailable in the adapter): the turn goes on.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.mcp_models import McpServer, RemoteTool
from agentmesh_agents.domain.models import utcnow
from agentmesh_agents.domain.ports import McpClient, McpServerRepository
from agentmesh_agents.domain.tool_models import ToolDefinition, ToolKind
from agentmesh_agents.domain.tooling import CallContext, Observation, Tool, config_by_schema
from agentmesh_agents.domain.tools import checked_definition
from agentmesh_core.errors import (
    AgentmeshError,
    FailedPrecondition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from agentmesh_core.identity import GlobalRole, Identity

log = logging.getLogger(__name__)

SERVER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
URL_MAX_CHARS = 2048
MAX_HEADERS = 16
HEADER_VALUE_MAX_CHARS = 4096
MAX_TOOLS = 256
_SUFFIX_BAD = re.compile(r"[^a-z0-9_.-]")


def _require_superadmin(identity: Identity) -> None:
    if identity.role is not GlobalRole.SUPERADMIN:
        raise PermissionDenied("superadmin role required")


def checked_server(name: str, url: str, headers: dict[str, str]) -> None:
    """InvalidInput unless the name, URL and headers can be registered."""
    if not isinstance(name, str) or not SERVER_NAME.match(name):
        raise InvalidInput("server name must match [a-z][a-z0-9_-]{0,31}")
    parts = urlsplit(url) if isinstance(url, str) and len(url) <= URL_MAX_CHARS else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"url must be an http(s) URL of at most {URL_MAX_CHARS} characters")
    if len(headers) > MAX_HEADERS:
        raise InvalidInput(f"at most {MAX_HEADERS} headers")
    for key, value in headers.items():
        if not HEADER_NAME.match(key):
            raise InvalidInput("header names must be HTTP tokens of at most 64 characters")
        if len(value) > HEADER_VALUE_MAX_CHARS or any(c in value for c in "\r\n\x00"):
            raise InvalidInput(f"header values must be one line of at most {HEADER_VALUE_MAX_CHARS} characters")


def catalog_entries(
    server: str, remote: Iterable[RemoteTool], limits: Limits, now: datetime
) -> tuple[list[ToolDefinition], dict[str, str]]:
    """The catalog entries for a server's tools and the suffix -> remote name map; unfit tools skipped."""
    tools: list[ToolDefinition] = []
    mapping: dict[str, str] = {}
    for item in list(remote)[:MAX_TOOLS]:
        suffix = _SUFFIX_BAD.sub("_", item.name.lower())[: 63 - len(server)]
        if not suffix or suffix in mapping:
            log.warning("mcp server %s: tool %r skipped (name clash or empty)", server, item.name[:100])
            continue
        draft = ToolDefinition(
            name=f"{server}.{suffix}",
            description=(item.description or item.name)[: limits.tool_description_max_length],
            parameters=item.parameters or {"type": "object"},
            kind=ToolKind.MCP,
            created_at=now,
            updated_at=now,
        )
        try:
            tools.append(checked_definition(draft, limits))
        except InvalidInput as error:
            log.warning("mcp server %s: tool %r skipped: %s", server, item.name[:100], error.message)
            continue
        mapping[suffix] = item.name
    return tools, mapping


class McpServers:
    """The Superadmin's use cases on MCP servers."""

    def __init__(
        self,
        servers: McpServerRepository,
        client: McpClient,
        limits: Limits,
        timeout: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._servers = servers
        self._client = client
        self._limits = limits
        self._timeout = timeout
        self._clock = clock

    async def create(self, identity: Identity, name: str, url: str, headers: dict[str, str]) -> McpServer:
        """Register a server after reading its tools (FailedPrecondition when it cannot be reached)."""
        _require_superadmin(identity)
        checked_server(name, url, headers)
        now = self._clock()
        remote = await self._remote_tools(url, headers)
        tools, mapping = catalog_entries(name, remote, self._limits, now)
        server = McpServer(name, url, dict(headers), mapping, created_at=now, refreshed_at=now)
        stored = await self._servers.add(server, tools)
        log.info("mcp server %s registered with %d tools", name, len(tools))
        return stored

    async def _remote_tools(self, url: str, headers: dict[str, str]) -> builtins.list[RemoteTool]:
        # A server that does not answer is the caller's problem to fix (its URL, its headers,
        # its uptime), not this service failing: FailedPrecondition, never a 5xx.
        try:
            return await self._client.list_tools(url, headers, self._timeout)
        except Unavailable as error:
            raise FailedPrecondition(error.message) from None

    async def list(self, identity: Identity) -> list[McpServer]:
        """Every registered server (the caller strips header values)."""
        _require_superadmin(identity)
        return await self._servers.list()

    async def delete(self, identity: Identity, name: str) -> None:
        """Forget a server and its tools."""
        _require_superadmin(identity)
        if not await self._servers.delete(name):
            raise NotFound(f"mcp server {name!r} not found")
        log.info("mcp server %s removed", name)

    async def refresh(self, identity: Identity, name: str) -> tuple[McpServer, builtins.list[str]]:
        """Read a server's tools again; returns the server and its tool names now in the catalog."""
        _require_superadmin(identity)
        server = await self._servers.get(name)
        if server is None:
            raise NotFound(f"mcp server {name!r} not found")
        now = self._clock()
        remote = await self._remote_tools(server.url, server.headers)
        tools, mapping = catalog_entries(name, remote, self._limits, now)
        updated = await self._servers.replace_tools(name, tools, mapping, now)
        if updated is None:
            raise NotFound(f"mcp server {name!r} not found")
        return updated, sorted(tool.name for tool in tools)


class McpTool:
    """One catalog entry of kind mcp, run through the server registered under its prefix."""

    def __init__(self, definition: ToolDefinition, servers: McpServerRepository, client: McpClient) -> None:
        self._definition = definition
        self._servers = servers
        self._client = client

    @property
    def name(self) -> str:
        return self._definition.name

    @property
    def description(self) -> str:
        return self._definition.description

    @property
    def parameters(self) -> dict[str, Any]:
        return self._definition.parameters

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        # MCP tools take their settings from the server; a grant carries none.
        return config_by_schema({"type": "object", "additionalProperties": False}, config, self.name)

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        server_name, _, suffix = self.name.partition(".")
        server = await self._servers.get(server_name)
        remote = server.tools.get(suffix) if server is not None else None
        if server is None or remote is None:
            return Observation(f"error: {self.name} is not offered by a registered MCP server", error=True)
        try:
            result = await self._client.call_tool(server.url, server.headers, remote, arguments, call.timeout)
        except AgentmeshError as error:
            log.warning("mcp call %s failed: %s", self.name, error.message)
            return Observation(f"error: {error.message}", error=True)
        return Observation(result.text, error=result.error)


class McpTools:
    """The ExternalTools port for kind mcp."""

    def __init__(self, servers: McpServerRepository, client: McpClient) -> None:
        self._servers = servers
        self._client = client

    def tool_for(self, definition: ToolDefinition) -> Tool | None:
        """An McpTool for any `<server>.<tool>` entry; whether the server still has it is known at run time."""
        if definition.kind is not ToolKind.MCP or "." not in definition.name:
            return None
        return McpTool(dataclasses.replace(definition), self._servers, self._client)
