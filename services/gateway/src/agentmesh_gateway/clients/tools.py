"""AgentService's tool RPCs: catalog, grants, the call audit, approvals (schemas <-> protos, deadlines)."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from agentmesh.agents.v1 import agent_service_pb2, agent_service_pb2_grpc, tool_pb2
from agentmesh_gateway.clients.convert import (
    READ_TIMEOUT,
    WRITE_TIMEOUT,
    enum_name,
    enum_number,
    from_struct,
    from_timestamp,
    rpc,
    to_struct,
)
from agentmesh_gateway.schemas.approvals import ApprovalOut, DecisionIn
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.mcp_servers import McpRefreshOut, McpServerIn, McpServerOut
from agentmesh_gateway.schemas.tools import GrantIn, GrantOut, ToolCallOut, ToolIn, ToolOut, ToolPatch

_SERVICE = "agents"
# The agents service gives an MCP server 15 s (AGENTMESH_MCP_TIMEOUT_SECONDS) to list its tools.
MCP_TIMEOUT = 20.0


def tool_out(tool: tool_pb2.Tool) -> ToolOut:
    return ToolOut(
        name=tool.name,
        description=tool.description,
        parameters=from_struct(tool.parameters),
        kind=enum_name(tool_pb2.ToolKind, tool.kind, "TOOL_KIND_"),
        enabled=tool.enabled,
        restricted=tool.restricted,
        requires_approval=tool.requires_approval,
        created_at=from_timestamp(tool.create_time),
        updated_at=from_timestamp(tool.update_time),
    )


def grant_out(grant: tool_pb2.AgentTool) -> GrantOut:
    return GrantOut(
        name=grant.name,
        config=from_struct(grant.config),
        requires_approval=grant.requires_approval if grant.HasField("requires_approval") else None,
        last_used=from_timestamp(grant.last_used_time),
        tool=tool_out(grant.tool),
    )


def tool_call_out(call: tool_pb2.ToolCall) -> ToolCallOut:
    return ToolCallOut(
        id=call.id,
        agent_id=call.agent_id,
        message_id=call.message_id,
        tool=call.tool,
        arguments=from_struct(call.arguments),
        outcome=enum_name(tool_pb2.ToolCallOutcome, call.outcome, "TOOL_CALL_OUTCOME_"),
        duration_ms=call.duration_ms,
        error=call.error or None,
        step=call.step,
        created_at=from_timestamp(call.create_time),
    )


def approval_out(approval: tool_pb2.Approval) -> ApprovalOut:
    return ApprovalOut(
        id=approval.id,
        agent_id=approval.agent_id,
        message_id=approval.message_id,
        conversation_id=approval.conversation_id,
        tool_call_id=approval.tool_call_id,
        tool=approval.tool,
        arguments=from_struct(approval.arguments),
        status=enum_name(tool_pb2.ApprovalStatus, approval.status, "APPROVAL_STATUS_"),
        decided_by=approval.decided_by or None,
        comment=approval.comment or None,
        expires_at=from_timestamp(approval.expire_time),
        created_at=from_timestamp(approval.create_time),
        decided_at=from_timestamp(approval.decide_time),
    )


def mcp_server_out(server: tool_pb2.McpServer) -> McpServerOut:
    return McpServerOut(
        name=server.name,
        url=server.url,
        header_names=list(server.header_names),
        tool_count=server.tool_count,
        created_at=from_timestamp(server.create_time),
        refreshed_at=from_timestamp(server.refresh_time),
    )


def _grant_proto(grant: GrantIn) -> tool_pb2.AgentTool:
    proto = tool_pb2.AgentTool(name=grant.name, config=to_struct(grant.config))
    if grant.requires_approval is not None:
        proto.requires_approval = grant.requires_approval
    return proto


class ToolsClient:
    """ToolsApi over gRPC; the caller's identity is bound by the route."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = agent_service_pb2_grpc.AgentServiceStub(channel)

    async def list_tools(self, limit: int, cursor: str) -> Page[ToolOut]:
        request = agent_service_pb2.ListToolsRequest(page_size=limit, page_token=cursor)
        response = await rpc(_SERVICE, self._stub.ListTools(request, timeout=READ_TIMEOUT))
        return Page(items=[tool_out(t) for t in response.tools], next_cursor=response.next_page_token or None)

    async def create_tool(self, tool: ToolIn) -> ToolOut:
        proto = tool_pb2.Tool(
            name=tool.name,
            description=tool.description,
            parameters=to_struct(tool.parameters),
            kind=enum_number(tool_pb2.ToolKind, tool.kind, "TOOL_KIND_"),
            enabled=tool.enabled,
            restricted=tool.restricted,
            requires_approval=tool.requires_approval,
        )
        request = agent_service_pb2.CreateToolRequest(tool=proto)
        return tool_out((await rpc(_SERVICE, self._stub.CreateTool(request, timeout=WRITE_TIMEOUT))).tool)

    async def update_tool(self, name: str, patch: ToolPatch) -> ToolOut:
        changes = patch.changed()
        proto = tool_pb2.Tool(name=name)
        for key in ("description", "enabled", "restricted", "requires_approval"):
            if key in changes:
                setattr(proto, key, changes[key])
        if "parameters" in changes:
            proto.parameters.CopyFrom(to_struct(changes["parameters"]))
        request = agent_service_pb2.UpdateToolRequest(
            tool=proto, update_mask=field_mask_pb2.FieldMask(paths=sorted(changes))
        )
        return tool_out((await rpc(_SERVICE, self._stub.UpdateTool(request, timeout=WRITE_TIMEOUT))).tool)

    async def agent_tools(self, project_id: str, agent_id: str) -> list[GrantOut]:
        request = agent_service_pb2.GetAgentToolsRequest(project_id=project_id, agent_id=agent_id)
        response = await rpc(_SERVICE, self._stub.GetAgentTools(request, timeout=READ_TIMEOUT))
        return [grant_out(g) for g in response.tools]

    async def set_agent_tools(self, project_id: str, agent_id: str, grants: list[GrantIn]) -> list[GrantOut]:
        request = agent_service_pb2.SetAgentToolsRequest(
            project_id=project_id, agent_id=agent_id, tools=[_grant_proto(g) for g in grants]
        )
        response = await rpc(_SERVICE, self._stub.SetAgentTools(request, timeout=WRITE_TIMEOUT))
        return [grant_out(g) for g in response.tools]

    async def list_tool_calls(
        self, project_id: str, agent_id: str, message_id: str, limit: int, cursor: str
    ) -> Page[ToolCallOut]:
        request = agent_service_pb2.ListToolCallsRequest(
            project_id=project_id, agent_id=agent_id, message_id=message_id, page_size=limit, page_token=cursor
        )
        response = await rpc(_SERVICE, self._stub.ListToolCalls(request, timeout=READ_TIMEOUT))
        return Page(items=[tool_call_out(c) for c in response.tool_calls], next_cursor=response.next_page_token or None)

    async def list_approvals(self, project_id: str, status: str | None, limit: int, cursor: str) -> Page[ApprovalOut]:
        number = (
            enum_number(tool_pb2.ApprovalStatus, status, "APPROVAL_STATUS_")
            if status
            else tool_pb2.APPROVAL_STATUS_UNSPECIFIED
        )
        request = agent_service_pb2.ListApprovalsRequest(
            project_id=project_id, status=number, page_size=limit, page_token=cursor
        )
        response = await rpc(_SERVICE, self._stub.ListApprovals(request, timeout=READ_TIMEOUT))
        return Page(items=[approval_out(a) for a in response.approvals], next_cursor=response.next_page_token or None)

    async def decide_approval(self, project_id: str, approval_id: str, decision: DecisionIn) -> ApprovalOut:
        request = agent_service_pb2.DecideApprovalRequest(
            project_id=project_id,
            approval_id=approval_id,
            decision=enum_number(tool_pb2.ApprovalDecision, decision.decision, "APPROVAL_DECISION_"),
            comment=decision.comment,
        )
        response = await rpc(_SERVICE, self._stub.DecideApproval(request, timeout=WRITE_TIMEOUT))
        return approval_out(response.approval)

    async def create_mcp_server(self, server: McpServerIn) -> McpServerOut:
        request = agent_service_pb2.CreateMcpServerRequest(
            server=tool_pb2.McpServer(name=server.name, url=server.url), headers=server.headers or {}
        )
        # Registration reads the server's tools: allow for a slow server.
        response = await rpc(_SERVICE, self._stub.CreateMcpServer(request, timeout=MCP_TIMEOUT))
        return mcp_server_out(response.server)

    async def list_mcp_servers(self) -> list[McpServerOut]:
        request = agent_service_pb2.ListMcpServersRequest()
        response = await rpc(_SERVICE, self._stub.ListMcpServers(request, timeout=READ_TIMEOUT))
        return [mcp_server_out(s) for s in response.servers]

    async def delete_mcp_server(self, name: str) -> None:
        request = agent_service_pb2.DeleteMcpServerRequest(name=name)
        await rpc(_SERVICE, self._stub.DeleteMcpServer(request, timeout=WRITE_TIMEOUT))

    async def refresh_mcp_server(self, name: str) -> McpRefreshOut:
        request = agent_service_pb2.RefreshMcpServerRequest(name=name)
        response = await rpc(_SERVICE, self._stub.RefreshMcpServer(request, timeout=MCP_TIMEOUT))
        return McpRefreshOut(server=mcp_server_out(response.server), tools=list(response.tools))
