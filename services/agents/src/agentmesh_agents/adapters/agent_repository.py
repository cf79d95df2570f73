"""Agents in PostgreSQL (schema `agents`).

Every unit of work here is one statement, run without a transaction (autocommit): a
transaction's BEGIN and COMMIT would be two more round trips for nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from agentmesh_agents.adapters.tables import agents
from agentmesh_agents.domain.models import Agent, AgentStatus
from agentmesh_core.errors import AlreadyExists
from agentmesh_db.database import Database, affected_rows

_NAME_TAKEN = "an agent with this name already exists in the project"


def to_agent(row: Row[Any]) -> Agent:
    """An `agents` row as the domain's Agent."""
    return Agent(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        purpose=row.purpose,
        system_prompt=row.system_prompt,
        model_config=dict(row.model_config or {}),
        agent_type=row.agent_type,
        status=AgentStatus(row.status),
        topics=tuple(row.topics or ()),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _values(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "purpose": agent.purpose,
        "system_prompt": agent.system_prompt,
        "model_config": agent.model_config,
        "agent_type": agent.agent_type,
        "status": agent.status.value,
        "topics": list(agent.topics),
        "updated_at": agent.updated_at,
    }


def _is_name_clash(error: IntegrityError) -> bool:
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None) == "uq_agents_project_name"


class SqlAgentRepository:
    """AgentRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, agent: Agent) -> Agent:
        def work(connection: Connection) -> Agent:
            row = connection.execute(
                insert(agents)
                .values(id=agent.id, project_id=agent.project_id, created_at=agent.created_at, **_values(agent))
                .returning(*agents.c)
            ).one()
            return to_agent(row)

        try:
            return await self._db.run(work, transaction=False)
        except IntegrityError as error:
            if _is_name_clash(error):
                raise AlreadyExists(_NAME_TAKEN) from None
            raise

    async def get(self, project_id: str, agent_id: str) -> Agent | None:
        def work(connection: Connection) -> Agent | None:
            row = connection.execute(
                select(agents).where(agents.c.project_id == project_id, agents.c.id == agent_id)
            ).one_or_none()
            return to_agent(row) if row else None

        return await self._db.run(work, transaction=False)

    async def named(self, project_id: str, name: str) -> Agent | None:
        query = select(agents).where(agents.c.project_id == project_id, agents.c.name == name)

        def work(connection: Connection) -> Agent | None:
            row = connection.execute(query).one_or_none()
            return to_agent(row) if row else None

        return await self._db.run(work, transaction=False)

    async def list(self, project_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Agent]:
        conditions = [agents.c.project_id == project_id]
        if after is not None:
            # Keyset paging: an agent deleted or added between two reads shifts nothing.
            conditions.append(tuple_(agents.c.created_at, agents.c.id) > tuple_(*after))

        def work(connection: Connection) -> list[Agent]:
            rows = connection.execute(
                select(agents).where(*conditions).order_by(agents.c.created_at, agents.c.id).limit(limit)
            ).all()
            return [to_agent(row) for row in rows]

        return await self._db.run(work, transaction=False)

    async def update(self, agent: Agent) -> Agent | None:
        def work(connection: Connection) -> Agent | None:
            row = connection.execute(
                update(agents)
                .where(agents.c.project_id == agent.project_id, agents.c.id == agent.id)
                .values(**_values(agent))
                .returning(*agents.c)
            ).one_or_none()
            return to_agent(row) if row else None

        try:
            return await self._db.run(work, transaction=False)
        except IntegrityError as error:
            if _is_name_clash(error):
                raise AlreadyExists(_NAME_TAKEN) from None
            raise

    async def delete(self, project_id: str, agent_id: str) -> bool:
        def work(connection: Connection) -> bool:
            statement = delete(agents).where(agents.c.project_id == project_id, agents.c.id == agent_id)
            return affected_rows(connection, statement) > 0

        return await self._db.run(work, transaction=False)

    async def delete_project(self, project_id: str) -> int:
        def work(connection: Connection) -> int:
            return affected_rows(connection, delete(agents).where(agents.c.project_id == project_id))

        return await self._db.run(work, transaction=False)
