"""Approvals of tool calls: members list them, project admins decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agentmesh_gateway.deps import AdminScope, Scope, ToolsDep, path_id
from agentmesh_gateway.schemas.approvals import ApprovalOut, DecisionIn
from agentmesh_gateway.schemas.common import Cursor, Limit, Page
from agentmesh_gateway.schemas.enums import ApprovalStatus

router = APIRouter(prefix="/projects/{project_id}/approvals", tags=["tools"])


@router.get("", response_model=Page[ApprovalOut])
async def list_approvals(
    scope: Scope,
    tools: ToolsDep,
    status_filter: Annotated[ApprovalStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ApprovalOut]:
    """The project's approvals, newest first (`?status=pending`: those waiting for a decision)."""
    with scope.acting():
        return await tools.list_approvals(scope.project.id, status_filter, limit, cursor or "")


@router.post("/{approval_id}", response_model=ApprovalOut)
async def decide_approval(approval_id: str, body: DecisionIn, scope: AdminScope, tools: ToolsDep) -> ApprovalOut:
    """Approve (the call runs and the agent goes on) or deny (the agent is told); 409 once decided or expired."""
    with scope.acting():
        return await tools.decide_approval(scope.project.id, path_id(approval_id, "approval"), body)
