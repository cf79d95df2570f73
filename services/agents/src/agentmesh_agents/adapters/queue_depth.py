"""QueueDepth on PostgreSQL: unanswered messages counted in the message log."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from agentmesh_agents.adapters.tables import messages
from agentmesh_agents.domain.models import MessageStatus, ParticipantType
from agentmesh_db.database import Database

# Waiting for the runtime, or being processed by it (a parked turn waits for a person instead).
_UNANSWERED = (MessageStatus.QUEUED.value, MessageStatus.PROCESSING.value)


class SqlQueueDepth:
    """Counts messages to agents that are queued or processing, in one query."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def unanswered(self, project_id: str) -> tuple[int, int]:
        query = select(func.count().filter(messages.c.project_id == project_id), func.count()).where(
            messages.c.status.in_(_UNANSWERED) & (messages.c.receiver_type == ParticipantType.AGENT.value)
        )

        def work(connection: Connection) -> tuple[int, int]:
            in_project, in_all = connection.execute(query).one()
            return int(in_project), int(in_all)

        return await self._db.run(work, transaction=False)
