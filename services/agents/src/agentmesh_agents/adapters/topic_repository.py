"""Publications to topics in PostgreSQL (schema `agents`), and the subscriber lookup.

Subscribers are the project's agents whose `topics` JSONB array contains the
topic: `topics @> '["<topic>"]'`, answered from the GIN index ix_agents_topics.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, String, cast, delete, select
from sqlalchemy.dialects.postgresql import insert

from agentmesh_agents.adapters.message_repository import message_values, to_message
from agentmesh_agents.adapters.tables import agents, messages, topic_deliveries, topic_publications
from agentmesh_agents.domain.models import Message, ParticipantType
from agentmesh_agents.domain.topics import Publication
from agentmesh_core.errors import AlreadyExists
from agentmesh_db.database import Database, affected_rows

_p = topic_publications.c


def _subscribers(connection: Connection, publication: Publication) -> list[str]:
    query = select(agents.c.id).where(
        agents.c.project_id == publication.project_id, agents.c.topics.contains([publication.topic])
    )
    if publication.sender.type is ParticipantType.AGENT:
        query = query.where(agents.c.id != publication.sender.id)
    return list(connection.scalars(query.order_by(agents.c.created_at, agents.c.id)))


def _delivered(connection: Connection, publication_id: str) -> list[Message]:
    # In the order the first publish answered: by subscription (agent creation); deleted agents last.
    receiver = (agents.c.project_id == messages.c.project_id) & (cast(agents.c.id, String) == messages.c.receiver_id)
    rows = connection.execute(
        select(messages)
        .join(topic_deliveries, topic_deliveries.c.message_id == messages.c.id)
        .outerjoin(agents, receiver)
        .where(topic_deliveries.c.publication_id == publication_id)
        .order_by(agents.c.created_at.asc().nulls_last(), agents.c.id, messages.c.id)
    ).all()
    return [to_message(row) for row in rows]


class SqlTopicRepository:
    """TopicRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(
        self, publication: Publication, message_for: Callable[[str], Message]
    ) -> tuple[list[Message], bool]:
        values = {
            "id": publication.id,
            "project_id": publication.project_id,
            "topic": publication.topic,
            "idempotency_key": publication.idempotency_key,
            "sender_type": publication.sender.type.value,
            "sender_id": publication.sender.id,
            "created_at": publication.created_at,
        }

        def work(connection: Connection) -> tuple[list[Message], bool]:
            # DO NOTHING on the idempotency key: a concurrent twin waits for the first to commit.
            stored = connection.scalar(
                insert(topic_publications).values(**values).on_conflict_do_nothing().returning(_p.id)
            )
            if stored is None:
                first = connection.scalar(
                    select(_p.id).where(
                        _p.project_id == publication.project_id,
                        _p.topic == publication.topic,
                        _p.idempotency_key == publication.idempotency_key,
                    )
                )
                if first is None:
                    raise AlreadyExists("publication already exists")
                return _delivered(connection, first), False
            sent = [message_for(agent_id) for agent_id in _subscribers(connection, publication)]
            if sent:
                # Two statements whatever the number of subscribers (executemany, batched by the driver).
                connection.execute(insert(messages), [message_values(m) for m in sent])
                connection.execute(
                    insert(topic_deliveries), [{"publication_id": publication.id, "message_id": m.id} for m in sent]
                )
            return sent, True

        return await self._db.run(work)

    async def delete_project(self, project_id: str) -> int:
        statement = delete(topic_publications).where(_p.project_id == project_id)  # deliveries cascade
        return await self._db.run(lambda connection: affected_rows(connection, statement), transaction=False)
