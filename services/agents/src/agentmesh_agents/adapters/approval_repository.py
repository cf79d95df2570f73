"""Approvals and the tool-call audit in PostgreSQL (schema `agents`)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, tuple_, update
from sqlalchemy.engine import Row

from agentmesh_agents.adapters.tables import approvals, tool_calls
from agentmesh_agents.adapters.turn_repository import wake_turn
from agentmesh_agents.domain.models import Message
from agentmesh_agents.domain.tool_models import (
    Approval,
    ApprovalStatus,
    ToolCallFilter,
    ToolCallOutcome,
    ToolCallRecord,
)
from agentmesh_agents.domain.turns import Wake
from agentmesh_db.database import Database

_a = approvals.c
_c = tool_calls.c


def to_approval(row: Row[Any]) -> Approval:
    """An `approvals` row as the domain's Approval."""
    return Approval(
        id=row.id,
        project_id=row.project_id,
        agent_id=row.agent_id,
        message_id=row.message_id,
        conversation_id=row.conversation_id,
        tool_call_id=row.tool_call_id,
        tool=row.tool,
        arguments=dict(row.arguments),
        expires_at=row.expires_at,
        status=ApprovalStatus(row.status),
        decided_by=row.decided_by,
        comment=row.comment,
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


def to_call(row: Row[Any]) -> ToolCallRecord:
    """A `tool_calls` row as the domain's ToolCallRecord."""
    return ToolCallRecord(
        id=row.id,
        project_id=row.project_id,
        agent_id=row.agent_id,
        message_id=row.message_id,
        tool=row.tool,
        arguments=dict(row.arguments),
        outcome=ToolCallOutcome(row.outcome),
        step=row.step,
        duration_ms=row.duration_ms,
        error=row.error,
        created_at=row.created_at,
    )


class SqlApprovalRepository:
    """ApprovalRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(
        self, project_id: str, status: ApprovalStatus | None, before: tuple[datetime, str] | None, limit: int
    ) -> builtins.list[Approval]:
        query = select(approvals).where(_a.project_id == project_id)
        if status is not None:
            query = query.where(_a.status == status.value)
        if before is not None:  # newest first: the next page holds the older keys
            query = query.where(tuple_(_a.created_at, _a.id) < tuple_(*before))
        query = query.order_by(_a.created_at.desc(), _a.id.desc()).limit(limit)
        return await self._db.run(lambda s: [to_approval(row) for row in s.execute(query).all()], transaction=False)

    async def get(self, project_id: str, approval_id: str) -> Approval | None:
        def work(connection: Connection) -> Approval | None:
            row = connection.execute(
                select(approvals).where(_a.project_id == project_id, _a.id == approval_id)
            ).one_or_none()
            return to_approval(row) if row else None

        return await self._db.run(work)

    async def decide(
        self, decided: Approval, wake: Wake, outcome: ToolCallOutcome | None
    ) -> tuple[bool, Message | None]:
        def work(connection: Connection) -> tuple[bool, Message | None]:
            settled = connection.execute(
                update(approvals)
                .where(
                    _a.project_id == decided.project_id,
                    _a.id == decided.id,
                    _a.status == ApprovalStatus.PENDING.value,
                )
                .values(
                    status=decided.status.value,
                    decided_by=decided.decided_by,
                    comment=decided.comment,
                    decided_at=decided.decided_at,
                )
                .returning(_a.id)
            ).one_or_none()
            if settled is None:
                return False, None
            if outcome is not None:
                connection.execute(
                    update(tool_calls)
                    .where(_c.project_id == decided.project_id, _c.id == decided.tool_call_id)
                    .values(outcome=outcome.value)
                )
            return True, wake_turn(connection, decided.project_id, decided.message_id, wake)

        return await self._db.run(work)

    async def expiring(self, now: datetime, limit: int) -> builtins.list[Approval]:
        query = (
            select(approvals)
            .where(_a.status == ApprovalStatus.PENDING.value, _a.expires_at <= now)
            .order_by(_a.expires_at)
            .limit(limit)
        )
        return await self._db.run(lambda s: [to_approval(row) for row in s.execute(query).all()], transaction=False)


class SqlToolCallRepository:
    """ToolCallRepository on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(
        self, project_id: str, where: ToolCallFilter, before: tuple[datetime, str] | None, limit: int
    ) -> builtins.list[ToolCallRecord]:
        query = select(tool_calls).where(_c.project_id == project_id)
        if where.agent_id:
            query = query.where(_c.agent_id == where.agent_id)
        if where.message_id:
            query = query.where(_c.message_id == where.message_id)
        if before is not None:  # newest first: the next page holds the older keys
            query = query.where(tuple_(_c.created_at, _c.id) < tuple_(*before))
        query = query.order_by(_c.created_at.desc(), _c.id.desc()).limit(limit)
        return await self._db.run(lambda s: [to_call(row) for row in s.execute(query).all()], transaction=False)
