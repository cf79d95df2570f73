"""What the agents service keeps about tools: the catalog, grants, the call audit, approvals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from agentmesh_agents.domain.models import utcnow


class ToolKind(StrEnum):
    """Where a tool's implementation lives."""

    BUILTIN = "builtin"
    MCP = "mcp"


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A catalog entry: what the model is told about a tool, and the switches on it."""

    name: str
    description: str
    parameters: dict[str, Any]
    kind: ToolKind
    enabled: bool = True
    restricted: bool = False
    requires_approval: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class Grant:
    """A tool granted to an agent: its per-grant config and approval override."""

    tool_name: str
    config: dict[str, Any] = field(default_factory=dict)
    requires_approval: bool | None = None  # None: the tool's own setting applies
    last_used: datetime | None = None


@dataclass(frozen=True, slots=True)
class GrantedTool:
    """A grant with its catalog entry, as the runtime checks and offers it."""

    grant: Grant
    tool: ToolDefinition

    @property
    def needs_approval(self) -> bool:
        """Whether a call waits for a human: the grant's override, else the tool's default."""
        if self.grant.requires_approval is not None:
            return self.grant.requires_approval
        return self.tool.requires_approval


class ToolCallOutcome(StrEnum):
    """How a tool call ended (PENDING: it waits for an approval)."""

    ALLOWED = "allowed"
    REFUSED = "refused"
    ERROR = "error"
    DENIED = "denied"
    EXPIRED = "expired"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call in the audit, allowed or refused."""

    id: str
    project_id: str
    agent_id: str
    message_id: str
    tool: str
    arguments: dict[str, Any]
    outcome: ToolCallOutcome
    step: int
    duration_ms: int = 0
    error: str = ""
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class ToolCallFilter:
    """Optional filters of the audit; None means "any"."""

    agent_id: str | None = None
    message_id: str | None = None


class ApprovalStatus(StrEnum):
    """Where an approval stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


# The comment of an approval that expired because its message was cancelled.
CANCELLED_COMMENT = "the message was cancelled"


@dataclass(frozen=True, slots=True)
class Approval:
    """A tool call that waits for (or got) a human's decision."""

    id: str
    project_id: str
    agent_id: str
    message_id: str
    conversation_id: str
    tool_call_id: str
    tool: str
    arguments: dict[str, Any]
    expires_at: datetime
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: str = ""
    comment: str = ""
    created_at: datetime = field(default_factory=utcnow)
    decided_at: datetime | None = None
