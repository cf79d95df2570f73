"""Proto <-> domain translation for the tool RPCs (catalog, grants, audit, approvals)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentmesh.agents.v1 import tool_pb2
from agentmesh_agents.codec import tool_proto
from agentmesh_agents.domain.approvals import Decision
from agentmesh_agents.domain.mcp_models import McpServer
from agentmesh_agents.domain.tool_models import ApprovalStatus, Grant, GrantedTool, ToolDefinition, ToolKind
from agentmesh_agents.rpc.mapping import struct_dict, struct_proto
from agentmesh_core.errors import InvalidInput
from agentmesh_grpc.well_known import timestamp_proto

_KIND_OF = {tool_pb2.TOOL_KIND_BUILTIN: ToolKind.BUILTIN, tool_pb2.TOOL_KIND_MCP: ToolKind.MCP}
_APPROVAL_STATUS_OF = {
    tool_pb2.APPROVAL_STATUS_PENDING: ApprovalStatus.PENDING,
    tool_pb2.APPROVAL_STATUS_APPROVED: ApprovalStatus.APPROVED,
    tool_pb2.APPROVAL_STATUS_DENIED: ApprovalStatus.DENIED,
    tool_pb2.APPROVAL_STATUS_EXPIRED: ApprovalStatus.EXPIRED,
}
_DECISION_OF = {tool_pb2.APPROVAL_DECISION_APPROVE: Decision.APPROVE, tool_pb2.APPROVAL_DECISION_DENY: Decision.DENY}


def tool_draft(proto: tool_pb2.Tool) -> ToolDefinition:
    """The tool a CreateTool request describes (times are set by the catalog)."""
    kind = _KIND_OF.get(proto.kind)
    if kind is None:
        raise InvalidInput("kind must be TOOL_KIND_BUILTIN or TOOL_KIND_MCP")
    return ToolDefinition(
        name=proto.name,
        description=proto.description,
        parameters=struct_dict(proto.parameters),
        kind=kind,
        enabled=proto.enabled,
        restricted=proto.restricted,
        requires_approval=proto.requires_approval,
    )


def tool_changes(proto: tool_pb2.Tool, paths: Iterable[str]) -> dict[str, Any]:
    """Field name -> new value for the fields an update mask names."""
    readers = {
        "description": lambda: proto.description,
        "parameters": lambda: struct_dict(proto.parameters),
        "enabled": lambda: proto.enabled,
        "restricted": lambda: proto.restricted,
        "requires_approval": lambda: proto.requires_approval,
    }
    changes: dict[str, Any] = {}
    for path in paths:
        reader = readers.get(path)
        if reader is None:
            raise InvalidInput(f"field {path!r} cannot be updated")
        changes[path] = reader()
    return changes


def grant(proto: tool_pb2.AgentTool) -> Grant:
    """A grant as SetAgentTools sends it (last_used and the catalog entry are ignored)."""
    return Grant(
        tool_name=proto.name,
        config=struct_dict(proto.config),
        requires_approval=proto.requires_approval if proto.HasField("requires_approval") else None,
    )


def agent_tool_proto(granted: GrantedTool) -> tool_pb2.AgentTool:
    """A grant with its catalog entry, as GetAgentTools answers."""
    proto = tool_pb2.AgentTool(
        name=granted.tool.name, config=struct_proto(granted.grant.config), tool=tool_proto(granted.tool)
    )
    if granted.grant.requires_approval is not None:
        proto.requires_approval = granted.grant.requires_approval
    if granted.grant.last_used is not None:
        proto.last_used_time.CopyFrom(timestamp_proto(granted.grant.last_used))
    return proto


def approval_status(number: tool_pb2.ApprovalStatus.ValueType) -> ApprovalStatus | None:
    """A status filter; UNSPECIFIED means any."""
    if number == tool_pb2.APPROVAL_STATUS_UNSPECIFIED:
        return None
    status = _APPROVAL_STATUS_OF.get(number)
    if status is None:
        raise InvalidInput("unknown approval status")
    return status


def decision(number: tool_pb2.ApprovalDecision.ValueType) -> Decision | None:
    """The decision a DecideApproval request carries; None (refused by the domain, after the
    project check) when it names none."""
    return _DECISION_OF.get(number)


def mcp_server_proto(server: McpServer) -> tool_pb2.McpServer:
    """A registered MCP server as a proto: header names only, never their values."""
    proto = tool_pb2.McpServer(
        name=server.name,
        url=server.url,
        header_names=sorted(server.headers),
        tool_count=len(server.tools),
        create_time=timestamp_proto(server.created_at),
    )
    if server.refreshed_at is not None:
        proto.refresh_time.CopyFrom(timestamp_proto(server.refreshed_at))
    return proto
