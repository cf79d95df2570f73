"""Approvals: tool calls that wait for a project admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentmesh_gateway.schemas.enums import ApprovalDecision
from agentmesh_gateway.schemas.limits import APPROVAL_COMMENT_MAX_LENGTH
from agentmesh_gateway.schemas.values import Text


class DecisionIn(BaseModel):
    """A project admin's answer to a pending approval."""

    model_config = ConfigDict(extra="forbid")

    decision: ApprovalDecision
    comment: Text = Field(default="", max_length=APPROVAL_COMMENT_MAX_LENGTH, description="told to the agent on deny")


class ApprovalOut(BaseModel):
    """A tool call that waits for, or got, a human's decision."""

    id: str
    agent_id: str
    message_id: str
    conversation_id: str
    tool_call_id: str
    tool: str
    arguments: dict[str, Any]
    status: str = Field(description="pending, approved, denied or expired")
    decided_by: str | None
    comment: str | None
    expires_at: datetime | None
    created_at: datetime | None
    decided_at: datetime | None
