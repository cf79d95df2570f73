"""The message log's statements that run on every send and every turn, built once.

Their values are bound when they run: building a statement costs more Python than
running it (the pick-up's read of a delivery: 1.7 ms on a slow machine), and that
Python runs in a database thread that waits for the GIL behind the event loop. No
bound name is a column's: an UPDATE run with a parameter named as a column also
SETs that column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.elements import BindParameter

from agentmesh_agents.adapters.tables import agent_tools, agents, messages, turns
from agentmesh_agents.domain.models import REPLY_PERFORMATIVE, STEP_PERFORMATIVES, MessageStatus

_c = messages.c
FINAL = tuple(status.value for status in MessageStatus if status.is_final)
UNFINISHED = (MessageStatus.QUEUED.value, MessageStatus.PROCESSING.value)

# A message, unless a row with its id (or a unique key of it) exists (bound: the row's values).
INSERT = insert(messages).on_conflict_do_nothing().returning(*messages.c)

# Whether the agent exists (bound: in_project, in_agent).
_AGENT_FOUND = exists().where(agents.c.project_id == bindparam("in_project"), agents.c.id == bindparam("in_agent"))
AGENT_EXISTS = select(_AGENT_FOUND)

# A message's row values but published_at (written once posted), bound as `value_<column>`.
_SENT = [column for column in messages.c if column.name != "published_at"]


def _insert_where(values: Select[Any], **conflict: Any) -> Any:
    """INSERT the one row `values` selects (none: nothing), unless a unique key of it (`conflict`'s) is used."""
    return (
        insert(messages)
        .from_select([column.name for column in _SENT], values)
        .on_conflict_do_nothing(**conflict)
        .returning(*messages.c)
    )


def _sent_values() -> Select[Any]:
    return select(*(bindparam(f"value_{column.name}", type_=column.type) for column in _SENT))


# INSERT, only while the receiving agent exists: a send in one statement (bound: the row's values,
# in_project, in_agent). No row back: the agent is missing, or a unique key was used.
INSERT_FOR_AGENT = _insert_where(_sent_values().where(_AGENT_FOUND))

_replies = messages.alias("replies")
_earlier = messages.alias("earlier")


def _delivery_statement() -> Select[Any]:
    """The request with everything processing decides on, in one query (a pick-up is latency).

    Bound: in_project, in_agent, request.
    """
    project_id: BindParameter[str] = bindparam("in_project")
    agent_id: BindParameter[str] = bindparam("in_agent")
    answered = exists().where(_replies.c.parent_id == _c.id, _replies.c.performative == REPLY_PERFORMATIVE)
    # The earliest unfinished message to the same agent. No age limit: every unfinished message is in a
    # mailbox or re-posted by the recovery sweep, so waiting for it ends; skipping an old one would answer
    # the agent's messages out of order.
    earlier = (
        select(_earlier.c.id)
        .where(
            _earlier.c.project_id == _c.project_id,
            _earlier.c.receiver_type == _c.receiver_type,
            _earlier.c.receiver_id == _c.receiver_id,
            _earlier.c.status.in_(UNFINISHED),
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
        .where(_c.project_id == project_id, _c.id == bindparam("request"))
    )


DELIVERY = _delivery_statement()

# The conversation before a request, newest first (bound: in_project, in_conversation, before, limit).
HISTORY = (
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
BEGIN = (
    update(messages)
    .where(
        _c.project_id == bindparam("in_project"),
        _c.id == bindparam("request"),
        _c.status.not_in((*FINAL, MessageStatus.PROCESSING.value)),
    )
    .values(status=MessageStatus.PROCESSING.value, error="", updated_at=bindparam("now"))
)
# Marks a request complete unless it was cancelled (bound: in_project, request, now); no row: cancelled.
COMPLETE = (
    update(messages)
    .where(
        _c.project_id == bindparam("in_project"),
        _c.id == bindparam("request"),
        _c.status != MessageStatus.CANCELLED.value,
    )
    .values(status=MessageStatus.COMPLETE.value, error="", updated_at=bindparam("now"))
    .returning(_c.id)
)
# COMPLETE, and the reply stored if it did: a turn's end in one statement (bound: COMPLETE's, the
# reply's row values). The request's row is updated (so locked) first: a cancel and a reply never
# both win. No row back: the request was cancelled, or its reply was stored before (by an earlier
# try); any other unique key used fails the statement, the completion with it.
_COMPLETED = COMPLETE.cte("completed")
COMPLETE_WITH_REPLY = _insert_where(
    _sent_values().select_from(_COMPLETED),
    index_elements=[_c.parent_id],
    index_where=text(f"performative = '{REPLY_PERFORMATIVE}'"),  # uq_messages_reply_parent
).add_cte(_COMPLETED)
# Whether a conversation has any message (bound: in_project, in_conversation): every watch asks.
CONVERSATION_EXISTS = select(
    exists().where(_c.project_id == bindparam("in_project"), _c.conversation_id == bindparam("in_conversation"))
)
# Notes when messages were posted to their mailboxes (bound: in_project, requests, at): every send.
MARK_PUBLISHED = (
    update(messages)
    .where(_c.project_id == bindparam("in_project"), _c.id.in_(bindparam("requests", expanding=True)))
    .values(published_at=bindparam("at"))
)
# Both in one round trip: a data-modifying WITH runs once whether or not the query reads it.
BEGIN_WITH_HISTORY = HISTORY.add_cte(BEGIN.cte("begun"))
