"""The tool catalog and agents' grants in PostgreSQL (schema `agents`)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from agentmesh_agents.adapters.tables import agent_tools, agents, tools
from agentmesh_agents.domain.tool_models import Grant, GrantedTool, ToolDefinition, ToolKind
from agentmesh_core.errors import AlreadyExists, NotFound
from agentmesh_db.database import Database

_t = tools.c
_g = agent_tools.c


def to_tool(row: Row[Any]) -> ToolDefinition:
    """A `tools` row as the domain's ToolDefinition."""
    return ToolDefinition(
        name=row.name,
        description=row.description,
        parameters=dict(row.parameters),
        kind=ToolKind(row.kind),
        enabled=row.enabled,
        restricted=row.restricted,
        requires_approval=row.requires_approval,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _switches(tool: ToolDefinition) -> dict[str, Any]:
    return {
        "description": tool.description,
        "parameters": tool.parameters,
        "enabled": tool.enabled,
        "restricted": tool.restricted,
        "requires_approval": tool.requires_approval,
        "updated_at": tool.updated_at,
    }


_GRANTED = select(agent_tools, *(column.label(f"catalog_{column.name}") for column in tools.c)).join(
    tools, _t.name == _g.tool_name
)


def _granted(row: Row[Any]) -> GrantedTool:
    tool = ToolDefinition(
        name=row.catalog_name,
        description=row.catalog_description,
        parameters=dict(row.catalog_parameters),
        kind=ToolKind(row.catalog_kind),
        enabled=row.catalog_enabled,
        restricted=row.catalog_restricted,
        requires_approval=row.catalog_requires_approval,
        created_at=row.catalog_created_at,
        updated_at=row.catalog_updated_at,
    )
    grant = Grant(row.tool_name, dict(row.config or {}), row.requires_approval, row.last_used)
    return GrantedTool(grant, tool)


# Every delivery of an agent with grants reads them: built once (bound: in_project, in_agent).
_AGENT_GRANTS = _GRANTED.where(_g.project_id == bindparam("in_project"), _g.agent_id == bindparam("in_agent")).order_by(
    _g.tool_name
)


def granted_tools(connection: Connection, project_id: str, agent_id: str) -> list[GrantedTool]:
    """An agent's grants with their catalog entries, by tool name (inside a caller's transaction)."""
    rows = connection.execute(_AGENT_GRANTS, {"in_project": project_id, "in_agent": agent_id}).all()
    return [_granted(row) for row in rows]


class SqlToolRepository:
    """ToolRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(self, after: str | None, limit: int) -> list[ToolDefinition]:
        query = select(tools).order_by(_t.name).limit(limit)
        if after is not None:
            query = query.where(_t.name > after)
        return await self._db.run(lambda s: [to_tool(row) for row in s.execute(query).all()], transaction=False)

    async def get(self, name: str) -> ToolDefinition | None:
        def work(connection: Connection) -> ToolDefinition | None:
            row = connection.execute(select(tools).where(_t.name == name)).one_or_none()
            return to_tool(row) if row else None

        return await self._db.run(work)

    async def add(self, tool: ToolDefinition) -> ToolDefinition:
        statement = (
            insert(tools)
            .values(name=tool.name, kind=tool.kind.value, created_at=tool.created_at, **_switches(tool))
            .on_conflict_do_nothing()
            .returning(*tools.c)
        )

        def work(connection: Connection) -> ToolDefinition:
            row = connection.execute(statement).one_or_none()
            if row is None:
                raise AlreadyExists("a tool with this name already exists")
            return to_tool(row)

        return await self._db.run(work)

    async def update(self, tool: ToolDefinition) -> ToolDefinition | None:
        statement = update(tools).where(_t.name == tool.name).values(**_switches(tool)).returning(*tools.c)

        def work(connection: Connection) -> ToolDefinition | None:
            row = connection.execute(statement).one_or_none()
            return to_tool(row) if row else None

        return await self._db.run(work)

    async def seed(self, tool: ToolDefinition) -> None:
        values = {"name": tool.name, "kind": tool.kind.value, "created_at": tool.created_at, **_switches(tool)}
        statement = (
            insert(tools)
            .values(**values)
            .on_conflict_do_update(
                index_elements=[_t.name],
                # Code owns a built-in's description and schema; the switches stay as an admin set them.
                set_={
                    "description": tool.description,
                    "parameters": tool.parameters,
                    "kind": tool.kind.value,
                    "updated_at": tool.updated_at,
                },
                where=(_t.description != tool.description)
                | (_t.parameters != tool.parameters)
                | (_t.kind != tool.kind.value),
            )
        )
        await self._db.run(lambda s: s.execute(statement), transaction=False)


class SqlGrantRepository:
    """GrantRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def for_agent(self, project_id: str, agent_id: str) -> list[GrantedTool]:
        return await self._db.run(lambda s: granted_tools(s, project_id, agent_id), transaction=False)

    async def find(self, project_id: str, agent_id: str, tool_name: str) -> GrantedTool | None:
        query = _GRANTED.where(_g.project_id == project_id, _g.agent_id == agent_id, _g.tool_name == tool_name)

        def work(connection: Connection) -> GrantedTool | None:
            row = connection.execute(query).one_or_none()
            return _granted(row) if row else None

        return await self._db.run(work)

    async def replace(
        self, project_id: str, agent_id: str, grants: Sequence[Grant], now: datetime
    ) -> builtins.list[GrantedTool]:
        def work(connection: Connection) -> list[GrantedTool]:
            agent = exists().where(agents.c.project_id == project_id, agents.c.id == agent_id)
            if not connection.execute(select(agent)).scalar():
                raise NotFound("agent not found")
            used = dict(
                connection.execute(select(_g.tool_name, _g.last_used).where(_g.agent_id == agent_id)).tuples().all()
            )
            connection.execute(delete(agent_tools).where(_g.agent_id == agent_id))
            if grants:
                connection.execute(
                    insert(agent_tools),
                    [
                        {
                            "project_id": project_id,
                            "agent_id": agent_id,
                            "tool_name": grant.tool_name,
                            "config": grant.config,
                            "requires_approval": grant.requires_approval,
                            "last_used": used.get(grant.tool_name),
                            "created_at": now,
                        }
                        for grant in grants
                    ],
                )
            return granted_tools(connection, project_id, agent_id)

        try:
            return await self._db.run(work)
        except IntegrityError:
            # A tool left the catalog between the domain's check and this write.
            raise NotFound("tool not found") from None
