"""McpClient over the official `mcp` SDK (2.x): streamable HTTP, one session per operation.

A session per call keeps nothing open between turns (a parked or idle agent
holds no connection) and makes a restarted server just work. Any failure to
reach or talk to the server becomes Unavailable, which the tool turns into an
error observation: a server that is down never crashes a turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from mcp.client.client import Client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from agentmesh_agents.domain.mcp_models import RemoteResult, RemoteTool
from agentmesh_core.errors import Unavailable

log = logging.getLogger(__name__)

MAX_PAGES = 16


class SdkMcpClient:
    """Lists and calls tools of MCP servers; every operation under one deadline."""

    async def list_tools(self, url: str, headers: dict[str, str], timeout: float) -> list[RemoteTool]:
        async def work(client: Client) -> list[RemoteTool]:
            found: list[RemoteTool] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                page = await client.list_tools(cursor=cursor)
                found.extend(
                    RemoteTool(tool.name, tool.description or "", dict(tool.input_schema or {})) for tool in page.tools
                )
                cursor = page.next_cursor
                if not cursor:
                    break
            return found

        return await self._session(url, headers, timeout, work)

    async def call_tool(
        self, url: str, headers: dict[str, str], tool: str, arguments: dict[str, Any], timeout: float
    ) -> RemoteResult:
        async def work(client: Client) -> RemoteResult:
            result = await client.call_tool(tool, arguments)
            return RemoteResult(_text(result.content, result.structured_content), error=bool(result.is_error))

        return await self._session(url, headers, timeout, work)

    @staticmethod
    async def _session(url: str, headers: dict[str, str], timeout: float, work: Any) -> Any:
        try:
            async with asyncio.timeout(timeout):
                async with create_mcp_http_client(headers=headers) as http:
                    async with Client(streamable_http_client(url, http_client=http), read_timeout_seconds=timeout) as c:
                        return await work(c)
        except TimeoutError:
            raise Unavailable(f"the MCP server did not answer within {timeout:g} seconds") from None
        except Exception as error:  # noqa: BLE001 - the SDK raises many kinds (connection, protocol, groups)
            log.warning("mcp server unreachable: %s", type(error).__name__)
            raise Unavailable("the MCP server could not be reached") from None


def _text(content: Any, structured: Any) -> str:
    parts = [str(getattr(item, "text", "")) for item in content or [] if getattr(item, "type", "") == "text"]
    if parts:
        return "\n".join(parts)
    if structured is not None:
        return json.dumps(structured, default=str)[:100_000]
    return "(no text content)"
