"""The string enums of the HTTP API, each written once.

Each is the lowercase name of a proto enum value without its prefix and without
`*_UNSPECIFIED` (AGENT_STATUS_ACTIVE -> "active"; see clients.convert.enum_name),
or a role of agentmesh_core.identity. They stay `Literal`s so that OpenAPI shows
inline string enums; tests/contract/test_enums.py asserts that each
equals its owner's values.
"""

from __future__ import annotations

from typing import Literal

# agentmesh.agents.v1.AgentStatus
AgentStatus = Literal["active", "paused"]
# agentmesh.agents.v1.MessageStatus
MessageStatus = Literal["queued", "processing", "complete", "error", "awaiting_approval", "cancelled"]
# agentmesh.agents.v1.ConversationEventType
EventType = Literal[
    "token",
    "reply",
    "status",
    "error",
    "tool_call",
    "tool_result",
    "approval_required",
    "approval_decided",
    "reset",
    "delegated",
    "delegation_reply",
    "cancelled",
    "recall_skipped",
]
# agentmesh.agents.v1.ToolKind
ToolKind = Literal["builtin", "mcp"]
# agentmesh.agents.v1.ToolCallOutcome
ToolCallOutcome = Literal["allowed", "refused", "error", "denied", "expired", "pending"]
# agentmesh.agents.v1.ApprovalStatus
ApprovalStatus = Literal["pending", "approved", "denied", "expired"]
# agentmesh.agents.v1.ApprovalDecision
ApprovalDecision = Literal["approve", "deny"]
# agentmesh_core.identity.GlobalRole, less SERVICE (platform components are not users)
UserRole = Literal["superadmin", "user"]
# agentmesh_core.identity.ProjectRole
MemberRole = Literal["admin", "user"]
