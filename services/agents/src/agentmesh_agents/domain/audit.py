"""The audit of tool calls: every call, allowed or refused, readable by project admins."""

from __future__ import annotations

import dataclasses

from agentmesh_agents.domain.models import Page
from agentmesh_agents.domain.ports import ToolCallRepository
from agentmesh_agents.domain.tool_models import ToolCallFilter, ToolCallRecord
from agentmesh_core import pagination
from agentmesh_core.identity import Identity, project_in_scope
from agentmesh_core.ids import parse_id


class ToolCallAudit:
    """ListToolCalls (the records are written by the runtime with each step)."""

    def __init__(self, calls: ToolCallRepository) -> None:
        self._calls = calls

    async def list(
        self, identity: Identity, project_id: str, where: ToolCallFilter, page_size: int, page_token: str
    ) -> Page[ToolCallRecord]:
        """One page of the project's tool calls, newest first; the filter's ids as the client sent them."""
        project_id = project_in_scope(identity, project_id, admin=True)
        where = dataclasses.replace(
            where,
            agent_id=parse_id(where.agent_id, "agent_id") if where.agent_id else None,
            message_id=parse_id(where.message_id, "message_id") if where.message_id else None,
        )
        limit = pagination.page_size(page_size)
        items = await self._calls.list(project_id, where, pagination.decode_time_key(page_token), limit)
        return Page(items, pagination.next_time_key(items, limit, lambda call: (call.created_at, call.id)))
