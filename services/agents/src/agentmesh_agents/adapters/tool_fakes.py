"""In-memory doubles of the tool ports (catalog, grants, audit, approvals, turns), for unit tests.

They share one ToolState (and the in-memory message log) the way the SQL
repositories share one database, and keep the rules the domain relies on: one
transaction's writes all or none, a decided approval never decided again, a
grant gone with its agent, final requests never parked or requeued. The
adapter suite runs against these and the SQL repositories alike.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agentmesh_agents.domain.models import Message, MessageStatus
from agentmesh_agents.domain.tool_models import (
    CANCELLED_COMMENT,
    Approval,
    ApprovalStatus,
    Grant,
    GrantedTool,
    ToolCallFilter,
    ToolCallOutcome,
    ToolCallRecord,
    ToolDefinition,
)
from agentmesh_agents.domain.turns import ParkRecord, StepRecord, TurnState, Wake
from agentmesh_core.errors import AlreadyExists, NotFound

if TYPE_CHECKING:
    from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository


class ToolState:
    """What the tool tables hold, in dicts."""

    def __init__(self, agents: InMemoryAgentRepository) -> None:
        self.agents = agents
        self.tools: dict[str, ToolDefinition] = {}
        self.grants: dict[tuple[str, str], tuple[str, Grant]] = {}  # (agent, tool) -> (project, grant)
        self.calls: dict[str, ToolCallRecord] = {}
        self.approvals: dict[str, Approval] = {}
        self.turns: dict[str, TurnState] = {}

    def granted(self, project_id: str, agent_id: str) -> list[GrantedTool]:
        """An agent's grants with their catalog entries, by tool name (none once the agent is gone)."""
        agent = self.agents.agents.get(agent_id)
        if agent is None or agent.project_id != project_id:
            return []
        found = [
            GrantedTool(grant, self.tools[name])
            for (agent, name), (project, grant) in self.grants.items()
            if agent == agent_id and project == project_id and name in self.tools
        ]
        return sorted(found, key=lambda granted: granted.tool.name)

    def delete_project(self, project_id: str) -> None:
        """Forget a project's turns, approvals and calls (its grants go with its agents)."""
        for table in (self.turns, self.approvals, self.calls):
            for key in [key for key, item in table.items() if item.project_id == project_id]:
                del table[key]


class InMemoryToolRepository:
    """ToolRepository in a dict."""

    def __init__(self, state: ToolState) -> None:
        self._state = state

    async def list(self, after: str | None, limit: int) -> list[ToolDefinition]:
        named = sorted(self._state.tools.values(), key=lambda tool: tool.name)
        return [tool for tool in named if after is None or tool.name > after][:limit]

    async def get(self, name: str) -> ToolDefinition | None:
        return self._state.tools.get(name)

    async def add(self, tool: ToolDefinition) -> ToolDefinition:
        if tool.name in self._state.tools:
            raise AlreadyExists("a tool with this name already exists")
        self._state.tools[tool.name] = tool
        return tool

    async def update(self, tool: ToolDefinition) -> ToolDefinition | None:
        current = self._state.tools.get(tool.name)
        if current is None:
            return None
        updated = dataclasses.replace(tool, kind=current.kind, created_at=current.created_at)
        self._state.tools[tool.name] = updated
        return updated

    async def seed(self, tool: ToolDefinition) -> None:
        current = self._state.tools.get(tool.name)
        if current is None:
            self._state.tools[tool.name] = tool
        elif (current.description, current.parameters, current.kind) != (tool.description, tool.parameters, tool.kind):
            self._state.tools[tool.name] = dataclasses.replace(
                current,
                description=tool.description,
                parameters=tool.parameters,
                kind=tool.kind,
                updated_at=tool.updated_at,
            )


class InMemoryGrantRepository:
    """GrantRepository in a dict."""

    def __init__(self, state: ToolState) -> None:
        self._state = state

    async def for_agent(self, project_id: str, agent_id: str) -> list[GrantedTool]:
        return self._state.granted(project_id, agent_id)

    async def find(self, project_id: str, agent_id: str, tool_name: str) -> GrantedTool | None:
        return next((g for g in self._state.granted(project_id, agent_id) if g.tool.name == tool_name), None)

    async def replace(
        self, project_id: str, agent_id: str, grants: Sequence[Grant], now: datetime
    ) -> builtins.list[GrantedTool]:
        agent = self._state.agents.agents.get(agent_id)
        if agent is None or agent.project_id != project_id:
            raise NotFound("agent not found")
        if any(grant.tool_name not in self._state.tools for grant in grants):
            raise NotFound("tool not found")
        mine = [key for key in self._state.grants if key[0] == agent_id]
        used = {key[1]: self._state.grants[key][1].last_used for key in mine}
        for key in mine:
            del self._state.grants[key]
        for grant in grants:
            kept = dataclasses.replace(grant, last_used=used.get(grant.tool_name))
            self._state.grants[(agent_id, grant.tool_name)] = (project_id, kept)
        return self._state.granted(project_id, agent_id)


class InMemoryToolCallRepository:
    """ToolCallRepository over the shared state."""

    def __init__(self, state: ToolState) -> None:
        self._state = state

    async def list(
        self, project_id: str, where: ToolCallFilter, before: tuple[datetime, str] | None, limit: int
    ) -> builtins.list[ToolCallRecord]:
        found = [
            call
            for call in self._state.calls.values()
            if call.project_id == project_id
            and (not where.agent_id or call.agent_id == where.agent_id)
            and (not where.message_id or call.message_id == where.message_id)
            and (before is None or (call.created_at, call.id) < before)
        ]
        found.sort(key=lambda call: (call.created_at, call.id), reverse=True)
        return found[:limit]


def _wake(state: ToolState, messages: InMemoryMessageRepository, project_id: str, message_id: str, wake: Wake):
    turn = state.turns.get(message_id)
    if (
        turn is None
        or turn.project_id != project_id
        or turn.parked is None
        or turn.parked.key != wake.key
        or turn.wake is not None
    ):
        return None
    state.turns[message_id] = dataclasses.replace(turn, wake=wake)
    request = messages.messages.get(message_id)
    if request is None or request.project_id != project_id or request.status.is_final:
        return None
    requeued = dataclasses.replace(request, status=MessageStatus.QUEUED, error="", updated_at=datetime.now(UTC))
    messages.messages[message_id] = requeued
    messages.published_at.pop(message_id, None)
    return requeued


class InMemoryApprovalRepository:
    """ApprovalRepository over the shared state and the message log."""

    def __init__(self, state: ToolState, messages: InMemoryMessageRepository) -> None:
        self._state = state
        self._messages = messages

    async def list(
        self, project_id: str, status: ApprovalStatus | None, before: tuple[datetime, str] | None, limit: int
    ) -> builtins.list[Approval]:
        found = [
            a
            for a in self._state.approvals.values()
            if a.project_id == project_id
            and (not status or a.status is status)
            and (before is None or (a.created_at, a.id) < before)
        ]
        found.sort(key=lambda a: (a.created_at, a.id), reverse=True)
        return found[:limit]

    async def get(self, project_id: str, approval_id: str) -> Approval | None:
        approval = self._state.approvals.get(approval_id)
        return approval if approval and approval.project_id == project_id else None

    async def decide(
        self, decided: Approval, wake: Wake, outcome: ToolCallOutcome | None
    ) -> tuple[bool, Message | None]:
        current = await self.get(decided.project_id, decided.id)
        if current is None or current.status is not ApprovalStatus.PENDING:
            return False, None
        self._state.approvals[decided.id] = dataclasses.replace(
            current,
            status=decided.status,
            decided_by=decided.decided_by,
            comment=decided.comment,
            decided_at=decided.decided_at,
        )
        call = self._state.calls.get(decided.tool_call_id)
        if outcome is not None and call is not None and call.project_id == decided.project_id:
            self._state.calls[call.id] = dataclasses.replace(call, outcome=outcome)
        return True, _wake(self._state, self._messages, decided.project_id, decided.message_id, wake)

    async def expiring(self, now: datetime, limit: int) -> builtins.list[Approval]:
        due = [a for a in self._state.approvals.values() if a.status is ApprovalStatus.PENDING and a.expires_at <= now]
        return sorted(due, key=lambda a: a.expires_at)[:limit]


class InMemoryTurnRepository:
    """TurnRepository over the shared state and the message log."""

    def __init__(self, state: ToolState, messages: InMemoryMessageRepository) -> None:
        self._state = state
        self._messages = messages

    def _insert(self, message: Message) -> None:
        if message.id not in self._messages.messages:
            self._messages.messages[message.id] = message

    async def record_step(self, state: TurnState, step: StepRecord) -> None:
        for message in step.messages:
            self._insert(message)
        current = self._state.calls.get(step.call.id)
        if current is None:
            self._state.calls[step.call.id] = step.call
        else:
            self._state.calls[step.call.id] = dataclasses.replace(
                current, outcome=step.call.outcome, duration_ms=step.call.duration_ms, error=step.call.error
            )
        key = (state.agent_id, step.used_tool or "")
        if key in self._state.grants:
            project, grant = self._state.grants[key]
            self._state.grants[key] = (project, dataclasses.replace(grant, last_used=step.call.created_at))
        self._state.turns[state.message_id] = dataclasses.replace(state, wake=None)

    async def park(self, state: TurnState, record: ParkRecord) -> bool:
        request = self._messages.messages.get(state.message_id)
        if request is None or request.project_id != state.project_id or request.status.is_final:
            return False
        self._messages.messages[request.id] = dataclasses.replace(
            request, status=record.status, updated_at=datetime.now(UTC)
        )
        if record.call_message is not None:
            self._insert(record.call_message)
        if record.call is not None:
            self._state.calls.setdefault(record.call.id, record.call)
        if record.approval is not None:
            self._state.approvals[record.approval.id] = record.approval
        self._state.turns[state.message_id] = dataclasses.replace(state, wake=None)
        return True

    async def wake(self, project_id: str, message_id: str, wake: Wake) -> Message | None:
        return _wake(self._state, self._messages, project_id, message_id, wake)

    async def save(self, state: TurnState) -> None:
        self._state.turns[state.message_id] = dataclasses.replace(state, wake=None)

    async def cancel(self, project_id: str, message_id: str) -> Message | None:
        request = self._messages.messages.get(message_id)
        if request is None or request.project_id != project_id or request.status.is_final:
            return None
        cancelled = dataclasses.replace(request, status=MessageStatus.CANCELLED, updated_at=datetime.now(UTC))
        self._messages.messages[message_id] = cancelled
        turn = self._state.turns.get(message_id)
        if turn is not None:
            self._state.turns[message_id] = dataclasses.replace(turn, parked=None, wake=None)
        for approval in list(self._state.approvals.values()):
            if approval.message_id == message_id and approval.status is ApprovalStatus.PENDING:
                self._state.approvals[approval.id] = dataclasses.replace(
                    approval, status=ApprovalStatus.EXPIRED, comment=CANCELLED_COMMENT, decided_at=datetime.now(UTC)
                )
        return cancelled

    async def expired_waits(self, kind: str, now: datetime, limit: int) -> builtins.list[TurnState]:
        due = [
            (turn.parked.expires_at, turn)
            for turn in self._state.turns.values()
            if turn.parked is not None
            and turn.parked.kind == kind
            and turn.wake is None
            and turn.parked.expires_at is not None
            and turn.parked.expires_at <= now
        ]
        return [turn for _, turn in sorted(due, key=lambda pair: pair[0])][:limit]

    async def get(self, message_id: str) -> TurnState | None:
        """A turn's stored state."""
        return self._state.turns.get(message_id)
