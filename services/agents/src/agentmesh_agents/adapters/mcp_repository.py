"""Registered MCP servers in PostgreSQL; their catalog tools change in the same transaction."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row

from agentmesh_agents.adapters.header_cipher import HeaderCipher
from agentmesh_agents.adapters.tables import mcp_servers, tools
from agentmesh_agents.domain.mcp_models import McpServer
from agentmesh_agents.domain.tool_models import ToolDefinition, ToolKind
from agentmesh_core.errors import AlreadyExists
from agentmesh_db.database import Database

_m = mcp_servers.c
_t = tools.c


def _prefix(name: str) -> Any:
    # Server names hold no LIKE wildcards except '_' (escaped here).
    return _t.name.like(name.replace("_", r"\_") + ".%", escape="\\")


class SqlMcpServerRepository:
    """McpServerRepository over the `mcp_servers` and `tools` tables; headers sealed by a HeaderCipher."""

    def __init__(self, db: Database, cipher: HeaderCipher) -> None:
        self._db = db
        self._cipher = cipher

    def _server(self, row: Row[Any]) -> McpServer:
        return McpServer(
            name=row.name,
            url=row.url,
            headers=self._cipher.open(row.headers),
            tools=dict(row.tools),
            created_at=row.created_at,
            refreshed_at=row.refreshed_at,
        )

    async def add(self, server: McpServer, tools_: builtins.list[ToolDefinition]) -> McpServer:
        sealed = self._cipher.seal(server.headers)

        def work(connection: Connection) -> McpServer:
            row = connection.execute(
                insert(mcp_servers)
                .values(
                    name=server.name,
                    url=server.url,
                    headers=sealed,
                    tools=server.tools,
                    created_at=server.created_at,
                    refreshed_at=server.refreshed_at,
                )
                .on_conflict_do_nothing()
                .returning(*mcp_servers.c)
            ).one_or_none()
            if row is None:
                raise AlreadyExists("an mcp server with this name already exists")
            taken = connection.execute(select(_t.name).where(_prefix(server.name))).scalars().all()
            if taken:
                raise AlreadyExists(f"the catalog already has tools named {server.name}.*")
            _insert_tools(connection, tools_)
            return self._server(row)

        return await self._db.run(work)

    async def list(self) -> builtins.list[McpServer]:
        query = select(mcp_servers).order_by(_m.name)
        return await self._db.run(lambda s: [self._server(row) for row in s.execute(query).all()], transaction=False)

    async def get(self, name: str) -> McpServer | None:
        def work(connection: Connection) -> McpServer | None:
            row = connection.execute(select(mcp_servers).where(_m.name == name)).one_or_none()
            return self._server(row) if row is not None else None

        return await self._db.run(work)

    async def delete(self, name: str) -> bool:
        def work(connection: Connection) -> bool:
            gone = connection.execute(delete(mcp_servers).where(_m.name == name).returning(_m.name)).first()
            if gone:
                connection.execute(delete(tools).where(_prefix(name), _t.kind == ToolKind.MCP.value))
            return gone is not None

        return await self._db.run(work)

    async def replace_tools(
        self, name: str, tools_: builtins.list[ToolDefinition], mapping: dict[str, str], at: datetime
    ) -> McpServer | None:
        def work(connection: Connection) -> McpServer | None:
            row = connection.execute(
                update(mcp_servers)
                .where(_m.name == name)
                .values(tools=mapping, refreshed_at=at)
                .returning(*mcp_servers.c)
            ).one_or_none()
            if row is None:
                return None
            wanted = {tool.name: tool for tool in tools_}
            present = set(connection.execute(select(_t.name).where(_prefix(name))).scalars().all())
            stale = present - wanted.keys()
            if stale:
                connection.execute(delete(tools).where(_t.name.in_(stale)))
            for tool in wanted.values():
                if tool.name in present:
                    # The switches (enabled, restricted, requires_approval) stay as a Superadmin set them.
                    connection.execute(
                        update(tools)
                        .where(_t.name == tool.name)
                        .values(description=tool.description, parameters=tool.parameters, updated_at=at)
                    )
            _insert_tools(connection, [tool for tool in tools_ if tool.name not in present])
            return self._server(row)

        return await self._db.run(work)


def _insert_tools(connection: Connection, new: builtins.list[ToolDefinition]) -> None:
    if not new:
        return
    connection.execute(
        insert(tools),
        [
            {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
                "kind": tool.kind.value,
                "enabled": tool.enabled,
                "restricted": tool.restricted,
                "requires_approval": tool.requires_approval,
                "created_at": tool.created_at,
                "updated_at": tool.updated_at,
            }
            for tool in new
        ],
    )
