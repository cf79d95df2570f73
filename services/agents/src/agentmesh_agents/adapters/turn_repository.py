"""ReAct turns in PostgreSQL: each step's writes, parking and waking, in one transaction each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, select, update
from sqlalchemy.dialects.postgresql import insert

from agentmesh_agents.adapters.message_repository import insert_message, to_message
from agentmesh_agents.adapters.message_statements import FINAL
from agentmesh_agents.adapters.tables import agent_tools, approvals, messages, tool_calls, turns
from agentmesh_agents.adapters.turn_codec import to_turn, turn_values, wake_json
from agentmesh_agents.domain.models import Message, MessageStatus
from agentmesh_agents.domain.tool_models import CANCELLED_COMMENT, Approval, ApprovalStatus, ToolCallRecord
from agentmesh_agents.domain.turns import ParkRecord, StepRecord, TurnState, Wake
from agentmesh_db.database import Database


def call_values(record: ToolCallRecord) -> dict[str, Any]:
    """The `tool_calls` columns of an audit record."""
    return {
        "id": record.id,
        "project_id": record.project_id,
        "agent_id": record.agent_id,
        "message_id": record.message_id,
        "tool": record.tool,
        "arguments": record.arguments,
        "outcome": record.outcome.value,
        "duration_ms": record.duration_ms,
        "error": record.error,
        "step": record.step,
        "created_at": record.created_at,
    }


def approval_values(approval: Approval) -> dict[str, Any]:
    """The `approvals` columns of an approval."""
    return {
        "id": approval.id,
        "project_id": approval.project_id,
        "agent_id": approval.agent_id,
        "message_id": approval.message_id,
        "conversation_id": approval.conversation_id,
        "tool_call_id": approval.tool_call_id,
        "tool": approval.tool,
        "arguments": approval.arguments,
        "status": approval.status.value,
        "decided_by": approval.decided_by,
        "comment": approval.comment,
        "expires_at": approval.expires_at,
        "created_at": approval.created_at,
        "decided_at": approval.decided_at,
    }


def _upsert_turn(connection: Connection, state: TurnState) -> None:
    values = {**turn_values(state), "updated_at": datetime.now(UTC)}
    connection.execute(
        insert(turns)
        .values(message_id=state.message_id, **values)
        .on_conflict_do_update(index_elements=[turns.c.message_id], set_=values)
    )


def wake_turn(connection: Connection, project_id: str, message_id: str, wake: Wake) -> Message | None:
    """Record the wake on a turn parked on its key and requeue the request (inside a transaction).

    The request is marked unpublished, so the recovery sweep posts it if the caller's post fails.
    """
    woken = connection.execute(
        update(turns)
        .where(
            turns.c.message_id == message_id,
            turns.c.project_id == project_id,
            turns.c.park_key == wake.key,
            turns.c.wake.is_(None),
        )
        .values(wake=wake_json(wake), updated_at=datetime.now(UTC))
        .returning(turns.c.message_id)
    ).one_or_none()
    if woken is None:
        return None
    row = connection.execute(
        update(messages)
        .where(messages.c.project_id == project_id, messages.c.id == message_id, messages.c.status.not_in(FINAL))
        .values(status=MessageStatus.QUEUED.value, error="", published_at=None, updated_at=datetime.now(UTC))
        .returning(*messages.c)
    ).one_or_none()
    return to_message(row) if row else None


class SqlTurnRepository:
    """TurnRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_step(self, state: TurnState, step: StepRecord) -> None:
        values = call_values(step.call)
        changes = {key: values[key] for key in ("outcome", "duration_ms", "error")}

        def work(connection: Connection) -> None:
            for message in step.messages:
                insert_message(connection, message)
            connection.execute(
                insert(tool_calls)
                .values(**values)
                .on_conflict_do_update(index_elements=[tool_calls.c.id], set_=changes)
            )
            if step.used_tool is not None:
                connection.execute(
                    update(agent_tools)
                    .where(agent_tools.c.agent_id == state.agent_id, agent_tools.c.tool_name == step.used_tool)
                    .values(last_used=step.call.created_at)
                )
            _upsert_turn(connection, state)

        await self._db.run(work)

    async def park(self, state: TurnState, record: ParkRecord) -> bool:
        def work(connection: Connection) -> bool:
            parked = connection.execute(
                update(messages)
                .where(
                    messages.c.project_id == state.project_id,
                    messages.c.id == state.message_id,
                    messages.c.status.not_in(FINAL),
                )
                .values(status=record.status.value, updated_at=datetime.now(UTC))
                .returning(messages.c.id)
            ).one_or_none()
            if parked is None:
                return False
            if record.call_message is not None:
                insert_message(connection, record.call_message)
            if record.call is not None:
                connection.execute(insert(tool_calls).values(**call_values(record.call)).on_conflict_do_nothing())
            if record.approval is not None:
                connection.execute(insert(approvals).values(**approval_values(record.approval)))
            _upsert_turn(connection, state)
            return True

        return await self._db.run(work)

    async def wake(self, project_id: str, message_id: str, wake: Wake) -> Message | None:
        return await self._db.run(lambda s: wake_turn(s, project_id, message_id, wake))

    async def save(self, state: TurnState) -> None:
        await self._db.run(lambda connection: _upsert_turn(connection, state), transaction=False)

    async def cancel(self, project_id: str, message_id: str) -> Message | None:
        def work(connection: Connection) -> Message | None:
            row = connection.execute(
                update(messages)
                .where(
                    messages.c.project_id == project_id,
                    messages.c.id == message_id,
                    messages.c.status.not_in(FINAL),
                )
                .values(status=MessageStatus.CANCELLED.value, updated_at=datetime.now(UTC))
                .returning(*messages.c)
            ).one_or_none()
            if row is None:
                return None
            connection.execute(
                update(turns)
                .where(turns.c.message_id == message_id, turns.c.project_id == project_id)
                .values(parked=None, park_key=None, wake=None, updated_at=datetime.now(UTC))
            )
            # Nobody is left to act on its approvals: they expire now instead of waiting for a decision.
            connection.execute(
                update(approvals)
                .where(
                    approvals.c.project_id == project_id,
                    approvals.c.message_id == message_id,
                    approvals.c.status == ApprovalStatus.PENDING.value,
                )
                .values(status=ApprovalStatus.EXPIRED.value, comment=CANCELLED_COMMENT, decided_at=datetime.now(UTC))
            )
            return to_message(row)

        return await self._db.run(work)

    async def expired_waits(self, kind: str, now: datetime, limit: int) -> list[TurnState]:
        expires = turns.c.parked["expires_at"].astext.cast(DateTime(timezone=True))
        query = (
            select(turns)
            .where(
                turns.c.park_key.is_not(None),
                turns.c.parked["kind"].astext == kind,
                turns.c.wake.is_(None),
                expires <= now,
            )
            .order_by(expires)
            .limit(limit)
        )
        return await self._db.run(
            lambda connection: [to_turn(row) for row in connection.execute(query).all()], transaction=False
        )

    async def get(self, message_id: str) -> TurnState | None:
        """A turn's stored state."""

        def work(connection: Connection) -> TurnState | None:
            row = connection.execute(select(turns).where(turns.c.message_id == message_id)).one_or_none()
            return to_turn(row) if row else None

        return await self._db.run(work)
