"""The message log in PostgreSQL (schema `agents`)."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, or_, select, tuple_, update
from sqlalchemy.engine import Row

from agentmesh_agents.adapters import message_statements as statements
from agentmesh_agents.adapters.agent_repository import to_agent
from agentmesh_agents.adapters.message_statements import FINAL, UNFINISHED
from agentmesh_agents.adapters.tables import agents, approvals, messages, tool_calls, turns
from agentmesh_agents.adapters.tool_repository import granted_tools
from agentmesh_agents.adapters.turn_codec import to_turn
from agentmesh_agents.domain.models import (
    REPLY_PERFORMATIVE,
    Message,
    MessageFilter,
    MessageStatus,
    Participant,
    ParticipantType,
)
from agentmesh_agents.domain.ports import DeliveryState
from agentmesh_core.errors import AlreadyExists, FailedPrecondition, NotFound
from agentmesh_db.database import Database, affected_rows

_c = messages.c
_IS_REPLY = _c.performative == REPLY_PERFORMATIVE


def to_message(row: Row[Any]) -> Message:
    """A `messages` row as the domain's Message."""
    return Message(
        id=row.id,
        project_id=row.project_id,
        conversation_id=row.conversation_id,
        sender=Participant(ParticipantType(row.sender_type), row.sender_id),
        receiver=Participant(ParticipantType(row.receiver_type), row.receiver_id),
        content=row.content,
        performative=row.performative,
        status=MessageStatus(row.status),
        error=row.error,
        parent_id=row.parent_id,
        correlation_id=row.correlation_id,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def message_values(message: Message) -> dict[str, Any]:
    """A Message as `messages` row values (also for bulk inserts elsewhere)."""
    return {
        "id": message.id,
        "project_id": message.project_id,
        "conversation_id": message.conversation_id,
        "sender_type": message.sender.type.value,
        "sender_id": message.sender.id,
        "receiver_type": message.receiver.type.value,
        "receiver_id": message.receiver.id,
        "content": message.content,
        "performative": message.performative,
        "status": message.status.value,
        "error": message.error,
        "parent_id": message.parent_id,
        "correlation_id": message.correlation_id,
        "idempotency_key": message.idempotency_key,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
    }


def insert_message(connection: Connection, message: Message) -> Message | None:
    """Insert a message unless a row with its id (or a unique key of it) exists; the stored row, or None."""
    # DO NOTHING on any unique key: the idempotency key, the one-reply-per-request index.
    row = connection.execute(statements.INSERT, message_values(message)).one_or_none()
    return to_message(row) if row else None


def _one(connection: Connection, *where: Any) -> Message | None:
    row = connection.execute(select(messages).where(*where).limit(1)).one_or_none()
    return to_message(row) if row else None


def _insert_for_receiver(connection: Connection, message: Message) -> Message | None:
    """insert_message; to an agent, only while the agent exists (checked after, when no row came back)."""
    if message.receiver.type is not ParticipantType.AGENT:
        return insert_message(connection, message)
    found = {"in_project": message.project_id, "in_agent": message.receiver.id}
    values = {f"value_{name}": value for name, value in message_values(message).items()} | found
    row = connection.execute(statements.INSERT_FOR_AGENT, values).one_or_none()
    if row is not None:
        return to_message(row)
    if not connection.execute(statements.AGENT_EXISTS, found).scalar():
        raise NotFound("agent not found")
    return None


def _columns(row: Row[Any], table: Table) -> Any:
    """One table's columns of a joined row, by name (what the row converters read)."""
    found = row._mapping
    return SimpleNamespace(**{column.name: found[column] for column in table.c})


def _begin(connection: Connection, request: Message, history_limit: int) -> list[Message]:
    """Mark the request processing (unless it already is, or is final); its conversation before it."""
    values = {"in_project": request.project_id, "request": request.id, "now": datetime.now(UTC)}
    if history_limit <= 0:
        connection.execute(statements.BEGIN, values)
        return []
    values.update(in_conversation=request.conversation_id, before=request.created_at, limit=history_limit)
    rows = connection.execute(statements.BEGIN_WITH_HISTORY, values).all()
    return [to_message(row) for row in reversed(rows)]


class SqlMessageRepository:
    """MessageRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, message: Message) -> tuple[Message, bool]:
        def work(connection: Connection) -> tuple[Message, bool]:
            # The agent's existence is the insert's condition: a send is one statement.
            stored = _insert_for_receiver(connection, message)
            if stored is not None:
                return stored, True
            if message.idempotency_key:
                first = _one(
                    connection, _c.project_id == message.project_id, _c.idempotency_key == message.idempotency_key
                )
                if first is not None:
                    return first, False
            raise AlreadyExists("message already exists")

        return await self._db.run(work, transaction=False)

    async def get(self, project_id: str, message_id: str) -> Message | None:
        return await self._db.run(
            lambda s: _one(s, _c.project_id == project_id, _c.id == message_id), transaction=False
        )

    async def list(
        self, project_id: str, where: MessageFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[Message]:
        conditions: list[Any] = [_c.project_id == project_id]
        if after is not None:
            # Keyset paging: rows strictly after the previous page's last, in the same order.
            conditions.append(tuple_(_c.created_at, _c.id) < tuple_(*after))
        if where.agent_id:
            agent = ParticipantType.AGENT.value
            conditions.append(
                or_(
                    and_(_c.sender_type == agent, _c.sender_id == where.agent_id),
                    and_(_c.receiver_type == agent, _c.receiver_id == where.agent_id),
                )
            )
        if where.conversation_id:
            conditions.append(_c.conversation_id == where.conversation_id)
        if where.hidden_conversation_id:
            conditions.append(_c.conversation_id != where.hidden_conversation_id)
        if where.status:
            conditions.append(_c.status == where.status.value)
        query = select(messages).where(*conditions).order_by(_c.created_at.desc(), _c.id.desc()).limit(limit)
        return await self._db.run(lambda s: [to_message(row) for row in s.execute(query).all()], transaction=False)

    async def conversation_exists(self, project_id: str, conversation_id: str) -> bool:
        values = {"in_project": project_id, "in_conversation": conversation_id}
        return await self._db.run(
            lambda s: bool(s.execute(statements.CONVERSATION_EXISTS, values).scalar()), transaction=False
        )

    async def delivery_state(
        self,
        project_id: str,
        agent_id: str,
        message_id: str,
        begin: Callable[[DeliveryState], bool] | None = None,
        history_limit: int = 0,
    ) -> DeliveryState:
        values = {"in_project": project_id, "in_agent": agent_id, "request": message_id}

        def read(connection: Connection) -> DeliveryState:
            row = connection.execute(statements.DELIVERY, values).one_or_none()
            if row is None:
                return DeliveryState(None)
            request = to_message(_columns(row, messages))
            if request.status.is_final:
                return DeliveryState(request)
            found = row._mapping
            agent = to_agent(_columns(row, agents)) if found[agents.c.id] is not None else None
            return DeliveryState(
                request,
                agent=agent,
                answered=bool(found["answered"]),
                earlier_id=found["earlier_id"],
                grants=tuple(granted_tools(connection, project_id, agent_id)) if agent and found["granted"] else (),
                turn=to_turn(_columns(row, turns)) if found[turns.c.message_id] is not None else None,
            )

        def work(connection: Connection) -> DeliveryState:
            state = read(connection)
            if state.request is None or begin is None or not begin(state):
                return state
            return dataclasses.replace(state, history=tuple(_begin(connection, state.request, history_limit)))

        return await self._db.run(work, transaction=False)

    # builtins.list from here on: inside the class, `list` is the method above.
    async def begin_processing(self, request: Message, history_limit: int) -> builtins.list[Message]:
        return await self._db.run(lambda connection: _begin(connection, request, history_limit), transaction=False)

    async def set_status(
        self, project_id: str, message_id: str, status: MessageStatus, error: str = ""
    ) -> Message | None:
        statement = (
            update(messages)
            .where(_c.project_id == project_id, _c.id == message_id, _c.status.not_in(FINAL))
            .values(status=status.value, error=error, updated_at=datetime.now(UTC))
            .returning(*messages.c)
        )

        def work(connection: Connection) -> Message | None:
            row = connection.execute(statement).one_or_none()
            return to_message(row) if row else None

        return await self._db.run(work, transaction=False)

    async def complete_with_reply(self, request: Message, reply: Message) -> Message:
        values = {"in_project": request.project_id, "request": request.id, "now": reply.updated_at}
        values |= {f"value_{name}": value for name, value in message_values(reply).items()}

        def work(connection: Connection) -> Message:
            # One statement (a turn's end is latency): complete the request, then store the reply.
            row = connection.execute(statements.COMPLETE_WITH_REPLY, values).one_or_none()
            if row is not None:
                return to_message(row)
            current = _one(connection, _c.project_id == request.project_id, _c.id == request.id)
            if current is None or current.status is MessageStatus.CANCELLED:
                raise FailedPrecondition("the message was cancelled")
            stored = _one(connection, _c.parent_id == request.id, _IS_REPLY)  # an earlier try's reply
            if stored is None:
                raise AlreadyExists("reply already exists")  # only if it was deleted meanwhile
            return stored

        return await self._db.run(work, transaction=False)

    async def mark_published(self, project_id: str, message_ids: builtins.list[str], at: datetime) -> None:
        values = {"in_project": project_id, "requests": message_ids, "at": at}
        await self._db.run(lambda s: s.execute(statements.MARK_PUBLISHED, values), transaction=False)

    async def due_for_publish(
        self, unpublished_before: datetime, published_before: datetime, limit: int
    ) -> builtins.list[Message]:
        query = (
            select(messages)
            .where(
                or_(
                    and_(
                        _c.status == MessageStatus.QUEUED.value,
                        _c.published_at.is_(None),
                        _c.created_at < unpublished_before,
                    ),
                    and_(
                        _c.status.in_(UNFINISHED),
                        _c.published_at < published_before,
                        _c.updated_at < published_before,
                    ),
                ),
            )
            .order_by(_c.created_at)
            .limit(limit)
        )
        return await self._db.run(lambda s: [to_message(row) for row in s.execute(query).all()], transaction=False)

    async def with_replies(
        self, project_id: str, message_ids: Sequence[str]
    ) -> builtins.list[tuple[Message, Message | None]]:
        ids = list(message_ids)
        if not ids:
            return []

        def work(connection: Connection) -> list[tuple[Message, Message | None]]:
            asked = connection.execute(select(messages).where(_c.project_id == project_id, _c.id.in_(ids))).all()
            answers = connection.execute(
                select(messages).where(_c.project_id == project_id, _c.parent_id.in_(ids), _IS_REPLY)
            ).all()
            replies = {row.parent_id: to_message(row) for row in answers}
            return [(to_message(row), replies.get(row.id)) for row in asked]

        return await self._db.run(work)

    async def delegated_from(self, project_id: str, message_id: str) -> builtins.list[Message]:
        query = select(messages).where(
            _c.project_id == project_id,
            _c.parent_id == message_id,
            _c.performative == "request",
            _c.sender_type == ParticipantType.AGENT.value,
            _c.status.not_in(FINAL),
        )
        return await self._db.run(lambda s: [to_message(row) for row in s.execute(query).all()], transaction=False)

    async def delete_project(self, project_id: str) -> int:
        def work(connection: Connection) -> int:
            for table in (turns, approvals, tool_calls):
                connection.execute(delete(table).where(table.c.project_id == project_id))
            return affected_rows(connection, delete(messages).where(_c.project_id == project_id))

        return await self._db.run(work)
