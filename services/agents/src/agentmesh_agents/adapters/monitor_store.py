"""What the monitor reads from PostgreSQL: monitoring agents, and work waiting too long."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, String, cast, select

from agentmesh_agents.adapters.agent_repository import to_agent
from agentmesh_agents.adapters.tables import agents, messages, turns
from agentmesh_agents.domain.models import Agent, AgentStatus, MessageStatus, ParticipantType
from agentmesh_agents.domain.monitoring.alerts import MONITOR_AGENT_TYPE
from agentmesh_agents.domain.monitoring.staleness import WaitingWork
from agentmesh_db.database import Database

_WAITING = (MessageStatus.QUEUED.value, MessageStatus.PROCESSING.value)
# One sweep reports at most this many of each kind (the oldest first).
_SWEEP_LIMIT = 500


class SqlMonitorAgents:
    """MonitorAgents on the agents table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def of_project(self, project_id: str) -> Agent | None:
        query = (
            select(agents)
            .where(agents.c.project_id == project_id, agents.c.agent_type == MONITOR_AGENT_TYPE)
            .order_by(agents.c.created_at, agents.c.id)
            .limit(1)
        )
        row = await self._db.run(lambda connection: connection.execute(query).one_or_none(), transaction=False)
        return to_agent(row) if row else None

    async def all(self) -> list[Agent]:
        # The oldest monitoring agent of each project.
        query = (
            select(agents)
            .where(agents.c.agent_type == MONITOR_AGENT_TYPE)
            .distinct(agents.c.project_id)
            .order_by(agents.c.project_id, agents.c.created_at, agents.c.id)
        )
        rows = await self._db.run(lambda connection: connection.execute(query).all(), transaction=False)
        return [to_agent(row) for row in rows]


class SqlStaleWork:
    """StaleWork on the message log and the turns table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def oldest_waiting(self, before: datetime) -> list[WaitingWork]:
        m = messages.c
        query = (
            select(m.project_id, m.receiver_id, m.id, m.created_at)
            # receiver_id is text (it may name a user); compared as text, a non-uuid one never fails a cast.
            .join(agents, (agents.c.project_id == m.project_id) & (cast(agents.c.id, String) == m.receiver_id))
            .where(
                m.status.in_(_WAITING),
                m.receiver_type == ParticipantType.AGENT.value,
                m.created_at < before,
                agents.c.status == AgentStatus.ACTIVE.value,
            )
            .distinct(m.project_id, m.receiver_id)
            .order_by(m.project_id, m.receiver_id, m.created_at)
            .limit(_SWEEP_LIMIT)
        )

        def work(connection: Connection) -> list[WaitingWork]:
            return [WaitingWork(*row) for row in connection.execute(query).all()]

        return await self._db.run(work)

    async def parked(self, before: datetime) -> list[WaitingWork]:
        t = turns.c
        query = (
            select(t.project_id, t.agent_id, t.message_id, t.updated_at)
            .where(t.parked.isnot(None), t.wake.is_(None), t.updated_at < before)
            .order_by(t.updated_at)
            .limit(_SWEEP_LIMIT)
        )

        def work(connection: Connection) -> list[WaitingWork]:
            return [WaitingWork(*row) for row in connection.execute(query).all()]

        return await self._db.run(work)
