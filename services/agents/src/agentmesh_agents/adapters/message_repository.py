"""The message log in PostgreSQL (schema `agents`)."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, Table, and_, bindparam, delete, exists, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from agentmesh_agents.adapters.agent_repository import to_agent
from agentmesh_agents.adapters.tables import agent_tools, agents, approvals, messages, tool_calls, turns
from agentmesh_agents.adapters.tool_repository import granted_tools
from agentmesh_agents.adapters.turn_codec import to_turn
from agentmesh_agents.domain.models import (
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
_FINAL = tuple(status.value for status in MessageStatus if status.is_final)
_UNFINISHED = (MessageStatus.QUEUED.value, MessageStatus.PROCESSING.value)
_REPLY = "reply"  # the performative of an agent's answer to a request
_IS_REPLY = _c.performative == _REPLY
# A turn's steps are in the log too, but are not conversation: a prompt's history leaves them out.
STEP_PERFORMATIVES = ("tool_call", "tool_result")


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


# The statements of every turn (and send) are built once, their values bound when they run:
# building a statement costs more Python than running it (the pick-up's read: 1.7 ms on a slow
# machine), and that Python runs in a database thread that waits for the GIL behind the event loop.
_INSERT = insert(messages).on_conflict_do_nothing().returning(*messages.c)


def insert_message(session: Session, message: Message) -> Message | None:
    """Insert a message unless a row with its id (or a unique key of it) exists; the stored row, or None."""
    # DO NOTHING on any unique key: the idempotency key, the one-reply-per-request index.
    row = session.execute(_INSERT, message_values(message)).one_or_none()
    return to_message(row) if row else None


def _one(session: Session, *where: Any) -> Message | None:
    row = session.execute(select(messages).where(*where).limit(1)).one_or_none()
    return to_message(row) if row else None


_AGENT_EXISTS = select(
    exists().where(agents.c.project_id == bindparam("project_id"), agents.c.id == bindparam("agent_id"))
)


def _agent_is_missing(session: Session, message: Message) -> bool:
    if message.receiver.type is not ParticipantType.AGENT:
        return False
    found = session.execute(_AGENT_EXISTS, {"project_id": message.project_id, "agent_id": message.receiver.id})
    return not found.scalar()


_replies = messages.alias("replies")
_earlier = messages.alias("earlier")


def _delivery_statement() -> Select[Any]:
    """The request with everything processing decides on, in one query (a pick-up is latency).

    Bound: project_id, agent_id, message_id.
    """
    project_id: BindParameter[str] = bindparam("project_id")
    agent_id: BindParameter[str] = bindparam("agent_id")
    answered = exists().where(_replies.c.parent_id == _c.id, _replies.c.performative == _REPLY)
    # The earliest unfinished message to the same agent. No age limit: every unfinished message is in a
    # mailbox or re-posted by the recovery sweep, so waiting for it ends; skipping an old one would answer
    # the agent's messages out of order.
    earlier = (
        select(_earlier.c.id)
        .where(
            _earlier.c.project_id == _c.project_id,
            _earlier.c.receiver_type == _c.receiver_type,
            _earlier.c.receiver_id == _c.receiver_id,
            _earlier.c.status.in_(_UNFINISHED),
            _earlier.c.created_at < _c.created_at,
        )
        .order_by(_earlier.c.created_at)
        .limit(1)
        .correlate(messages)
        .scalar_subquery()
    )
    # Most agents have no tools: their grants are read only when there are some.
    granted = exists().where(agent_tools.c.project_id == project_id, agent_tools.c.agent_id == agent_id)
    joined = messages.outerjoin(agents, and_(agents.c.project_id == project_id, agents.c.id == agent_id)).outerjoin(
        turns, turns.c.message_id == _c.id
    )
    return (
        select(
            messages, agents, turns, answered.label("answered"), earlier.label("earlier_id"), granted.label("granted")
        )
        .select_from(joined)
        .where(_c.project_id == project_id, _c.id == bindparam("message_id"))
    )


_DELIVERY = _delivery_statement()


def _columns(row: Row[Any], table: Table) -> Any:
    """One table's columns of a joined row, by name (what the row converters read)."""
    found = row._mapping
    return SimpleNamespace(**{column.name: found[column] for column in table.c})


# The conversation before a request, newest first (bound: in_project, in_conversation, before, limit).
_HISTORY = (
    select(messages)
    .where(
        _c.project_id == bindparam("in_project"),
        _c.conversation_id == bindparam("in_conversation"),
        _c.status == MessageStatus.COMPLETE.value,
        _c.created_at < bindparam("before"),
        _c.performative.not_in(STEP_PERFORMATIVES),
    )
    .order_by(_c.created_at.desc(), _c.id.desc())
    .limit(bindparam("limit"))
)
# Marks a request processing unless it already is, or is final (bound: in_project, request, now).
# No bound name is a column's: an UPDATE run with a parameter named as a column also SETs that column.
_BEGIN = (
    update(messages)
    .where(
        _c.project_id == bindparam("in_project"),
        _c.id == bindparam("request"),
        _c.status.not_in((*_FINAL, MessageStatus.PROCESSING.value)),
    )
    .values(status=MessageStatus.PROCESSING.value, error="", updated_at=bindparam("now"))
)
# Marks a request complete unless it was cancelled (bound: in_project, request, now); no row: cancelled.
_COMPLETE = (
    update(messages)
    .where(
        _c.project_id == bindparam("in_project"),
        _c.id == bindparam("request"),
        _c.status != MessageStatus.CANCELLED.value,
    )
    .values(status=MessageStatus.COMPLETE.value, error="", updated_at=bindparam("now"))
    .returning(_c.id)
)
# Both in one round trip: a data-modifying WITH runs once whether or not the query reads it.
_BEGIN_WITH_HISTORY = _HISTORY.add_cte(_BEGIN.cte("begun"))


def _begin(session: Session, request: Message, history_limit: int) -> list[Message]:
    """Mark the request processing (unless it already is, or is final); its conversation before it."""
    values = {"in_project": request.project_id, "request": request.id, "now": datetime.now(UTC)}
    if history_limit <= 0:
        session.execute(_BEGIN, values)
        return []
    values.update(in_conversation=request.conversation_id, before=request.created_at, limit=history_limit)
    rows = session.execute(_BEGIN_WITH_HISTORY, values).all()
    return [to_message(row) for row in reversed(rows)]


class SqlMessageRepository:
    """MessageRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, message: Message) -> tuple[Message, bool]:
        def work(session: Session) -> tuple[Message, bool]:
            # In the insert's transaction: a send costs one round trip less than a separate lookup.
            if _agent_is_missing(session, message):
                raise NotFound("agent not found")
            stored = insert_message(session, message)
            if stored is not None:
                return stored, True
            if message.idempotency_key:
                first = _one(
                    session, _c.project_id == message.project_id, _c.idempotency_key == message.idempotency_key
                )
                if first is not None:
                    return first, False
            raise AlreadyExists("message already exists")

        return await self._db.run(work)

    async def get(self, project_id: str, message_id: str) -> Message | None:
        return await self._db.run(lambda s: _one(s, _c.project_id == project_id, _c.id == message_id))

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
        return await self._db.run(lambda s: [to_message(row) for row in s.execute(query).all()])

    async def conversation_exists(self, project_id: str, conversation_id: str) -> bool:
        query = select(exists().where(_c.project_id == project_id, _c.conversation_id == conversation_id))
        return await self._db.run(lambda s: bool(s.execute(query).scalar()))

    async def delivery_state(
        self,
        project_id: str,
        agent_id: str,
        message_id: str,
        begin: Callable[[DeliveryState], bool] | None = None,
        history_limit: int = 0,
    ) -> DeliveryState:
        values = {"project_id": project_id, "agent_id": agent_id, "message_id": message_id}

        def read(session: Session) -> DeliveryState:
            row = session.execute(_DELIVERY, values).one_or_none()
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
                grants=tuple(granted_tools(session, project_id, agent_id)) if agent and found["granted"] else (),
                turn=to_turn(_columns(row, turns)) if found[turns.c.message_id] is not None else None,
            )

        def work(session: Session) -> DeliveryState:
            state = read(session)
            if state.request is None or begin is None or not begin(state):
                return state
            return dataclasses.replace(state, history=tuple(_begin(session, state.request, history_limit)))

        return await self._db.run(work)

    # builtins.list from here on: inside the class, `list` is the method above.
    async def begin_processing(self, request: Message, history_limit: int) -> builtins.list[Message]:
        return await self._db.run(lambda session: _begin(session, request, history_limit))

    async def set_status(
        self, project_id: str, message_id: str, status: MessageStatus, error: str = ""
    ) -> Message | None:
        statement = (
            update(messages)
            .where(_c.project_id == project_id, _c.id == message_id, _c.status.not_in(_FINAL))
            .values(status=status.value, error=error, updated_at=datetime.now(UTC))
            .returning(*messages.c)
        )

        def work(session: Session) -> Message | None:
            row = session.execute(statement).one_or_none()
            return to_message(row) if row else None

        return await self._db.run(work)

    async def complete_with_reply(self, request: Message, reply: Message) -> Message:
        values = {"in_project": request.project_id, "request": request.id, "now": reply.updated_at}

        def work(session: Session) -> Message:
            # The request's row is updated (so locked) first: a cancel and a reply never both win.
            if session.execute(_COMPLETE, values).first() is None:
                raise FailedPrecondition("the message was cancelled")
            stored = insert_message(session, reply)
            if stored is None:
                stored = _one(session, _c.parent_id == request.id, _IS_REPLY)
                if stored is None:
                    raise AlreadyExists("reply already exists")
            return stored

        return await self._db.run(work)

    async def mark_published(self, project_id: str, message_ids: builtins.list[str], at: datetime) -> None:
        statement = update(messages).where(_c.project_id == project_id, _c.id.in_(message_ids)).values(published_at=at)
        await self._db.run(lambda s: s.execute(statement))

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
                        _c.status.in_(_UNFINISHED),
                        _c.published_at < published_before,
                        _c.updated_at < published_before,
                    ),
                ),
            )
            .order_by(_c.created_at)
            .limit(limit)
        )
        return await self._db.run(lambda s: [to_message(row) for row in s.execute(query).all()])

    async def with_replies(
        self, project_id: str, message_ids: Sequence[str]
    ) -> builtins.list[tuple[Message, Message | None]]:
        ids = list(message_ids)
        if not ids:
            return []

        def work(session: Session) -> list[tuple[Message, Message | None]]:
            asked = session.execute(select(messages).where(_c.project_id == project_id, _c.id.in_(ids))).all()
            answers = session.execute(
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
            _c.status.not_in(_FINAL),
        )
        return await self._db.run(lambda s: [to_message(row) for row in s.execute(query).all()])

    async def delete_project(self, project_id: str) -> int:
        def work(session: Session) -> int:
            for table in (turns, approvals, tool_calls):
                session.execute(delete(table).where(table.c.project_id == project_id))
            return affected_rows(session, delete(messages).where(_c.project_id == project_id))

        return await self._db.run(work)
