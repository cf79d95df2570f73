"""AgentService over gRPC: translate, delegate to the domain (which checks project access)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.agents.v1 import agent_service_pb2_grpc
from agentmesh.common.v1 import system_event_pb2
from agentmesh_agents.codec import approval_proto, message_proto, tool_call_proto, tool_proto
from agentmesh_agents.domain.approvals import Approvals
from agentmesh_agents.domain.audit import ToolCallAudit
from agentmesh_agents.domain.cancellation import Cancellation
from agentmesh_agents.domain.grants import AgentToolGrants
from agentmesh_agents.domain.mcp_servers import McpServers
from agentmesh_agents.domain.messaging import Messaging, Outgoing
from agentmesh_agents.domain.models import MessageFilter
from agentmesh_agents.domain.monitoring.events import SystemEventKind
from agentmesh_agents.domain.monitoring.intake import SystemEventIntake
from agentmesh_agents.domain.registry import AgentRegistry
from agentmesh_agents.domain.tool_models import ToolCallFilter
from agentmesh_agents.domain.tools import ToolCatalog
from agentmesh_agents.domain.topics import Topics
from agentmesh_agents.rpc import mapping, tool_mapping
from agentmesh_grpc.identity import caller

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AgentService"].full_name


class AgentServicer(agent_service_pb2_grpc.AgentServiceServicer):
    """Reads need project membership; writes need project admin (or a privileged caller)."""

    def __init__(
        self,
        registry: AgentRegistry,
        messaging: Messaging,
        catalog: ToolCatalog,
        grants: AgentToolGrants,
        audit: ToolCallAudit,
        approvals: Approvals,
        mcp: McpServers,
        topics: Topics,
        cancellation: Cancellation,
        intake: SystemEventIntake,
    ) -> None:
        self._registry = registry
        self._messaging = messaging
        self._catalog = catalog
        self._grants = grants
        self._audit = audit
        self._approvals = approvals
        self._mcp = mcp
        self._topics = topics
        self._cancellation = cancellation
        self._intake = intake

    async def CreateAgent(self, request: pb.CreateAgentRequest, context: grpc.aio.ServicerContext):
        agent = await self._registry.create(caller(), request.project_id, mapping.agent_draft(request.agent))
        return pb.CreateAgentResponse(agent=mapping.agent_proto(agent))

    async def GetAgent(self, request: pb.GetAgentRequest, context: grpc.aio.ServicerContext):
        agent = await self._registry.get(caller(), request.project_id, request.agent_id)
        return pb.GetAgentResponse(agent=mapping.agent_proto(agent))

    async def ListAgents(self, request: pb.ListAgentsRequest, context: grpc.aio.ServicerContext):
        page = await self._registry.list(caller(), request.project_id, request.page_size, request.page_token)
        return pb.ListAgentsResponse(
            agents=[mapping.agent_proto(agent) for agent in page.items], next_page_token=page.next_cursor
        )

    async def UpdateAgent(self, request: pb.UpdateAgentRequest, context: grpc.aio.ServicerContext):
        changes = mapping.agent_changes(request.agent, request.update_mask.paths)
        agent = await self._registry.update(caller(), request.project_id, request.agent.id, changes)
        return pb.UpdateAgentResponse(agent=mapping.agent_proto(agent))

    async def DeleteAgent(self, request: pb.DeleteAgentRequest, context: grpc.aio.ServicerContext):
        await self._registry.delete(caller(), request.project_id, request.agent_id)
        return pb.DeleteAgentResponse()

    async def SendMessage(self, request: pb.SendMessageRequest, context: grpc.aio.ServicerContext):
        outgoing = Outgoing(
            agent_id=request.agent_id,
            content=mapping.json_value(request.content),
            conversation_id=request.conversation_id,
            idempotency_key=request.idempotency_key,
            performative=request.performative,
            correlation_id=request.correlation_id,
        )
        message = await self._messaging.send(caller(), request.project_id, outgoing)
        return pb.SendMessageResponse(message=message_proto(message))

    async def PublishToTopic(self, request: pb.PublishToTopicRequest, context: grpc.aio.ServicerContext):
        messages = await self._topics.publish(
            caller(), request.project_id, request.topic, mapping.json_value(request.content), request.idempotency_key
        )
        return pb.PublishToTopicResponse(messages=[message_proto(message) for message in messages])

    async def ListMessages(self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext):
        where = MessageFilter(
            agent_id=request.agent_id or None,
            conversation_id=request.conversation_id or None,
            status=mapping.message_status(request.status),
        )
        page = await self._messaging.list(caller(), request.project_id, where, request.page_size, request.page_token)
        return pb.ListMessagesResponse(
            messages=[message_proto(message) for message in page.items], next_page_token=page.next_cursor
        )

    async def CancelMessage(self, request: pb.CancelMessageRequest, context: grpc.aio.ServicerContext):
        message = await self._cancellation.cancel(caller(), request.project_id, request.message_id)
        return pb.CancelMessageResponse(message=message_proto(message))

    async def StreamConversationEvents(
        self, request: pb.StreamConversationEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamConversationEventsResponse]:
        events = await self._messaging.watch(
            caller(), request.project_id, request.conversation_id, request.after_sequence
        )
        # The conversation exists: say so now rather than with the first event, which may be
        # long in coming. Clients (the gateway's SSE route) wait for these headers to tell an
        # accepted stream from NOT_FOUND before they answer their own caller.
        await context.send_initial_metadata(())
        async for stored in events:
            response = mapping.event_response(stored)
            if response is not None:
                yield response

    async def DeleteProjectData(self, request: pb.DeleteProjectDataRequest, context: grpc.aio.ServicerContext):
        removed = await self._messaging.delete_project_data(caller(), request.project_id)
        removed["publications"] = await self._topics.delete_project_data(caller(), request.project_id)
        return pb.DeleteProjectDataResponse(removed=mapping.struct_proto(dict(removed)))

    async def ListTools(self, request: pb.ListToolsRequest, context: grpc.aio.ServicerContext):
        page = await self._catalog.list(caller(), request.page_size, request.page_token)
        return pb.ListToolsResponse(tools=[tool_proto(tool) for tool in page.items], next_page_token=page.next_cursor)

    async def CreateTool(self, request: pb.CreateToolRequest, context: grpc.aio.ServicerContext):
        tool = await self._catalog.create(caller(), tool_mapping.tool_draft(request.tool))
        return pb.CreateToolResponse(tool=tool_proto(tool))

    async def UpdateTool(self, request: pb.UpdateToolRequest, context: grpc.aio.ServicerContext):
        changes = tool_mapping.tool_changes(request.tool, request.update_mask.paths)
        tool = await self._catalog.update(caller(), request.tool.name, changes)
        return pb.UpdateToolResponse(tool=tool_proto(tool))

    async def GetAgentTools(self, request: pb.GetAgentToolsRequest, context: grpc.aio.ServicerContext):
        granted = await self._grants.get(caller(), request.project_id, request.agent_id)
        return pb.GetAgentToolsResponse(tools=[tool_mapping.agent_tool_proto(g) for g in granted])

    async def SetAgentTools(self, request: pb.SetAgentToolsRequest, context: grpc.aio.ServicerContext):
        grants = [tool_mapping.grant(proto) for proto in request.tools]
        granted = await self._grants.set(caller(), request.project_id, request.agent_id, grants)
        return pb.SetAgentToolsResponse(tools=[tool_mapping.agent_tool_proto(g) for g in granted])

    async def ListToolCalls(self, request: pb.ListToolCallsRequest, context: grpc.aio.ServicerContext):
        where = ToolCallFilter(agent_id=request.agent_id or None, message_id=request.message_id or None)
        page = await self._audit.list(caller(), request.project_id, where, request.page_size, request.page_token)
        return pb.ListToolCallsResponse(
            tool_calls=[tool_call_proto(call) for call in page.items], next_page_token=page.next_cursor
        )

    async def ListApprovals(self, request: pb.ListApprovalsRequest, context: grpc.aio.ServicerContext):
        status = tool_mapping.approval_status(request.status)
        page = await self._approvals.list(caller(), request.project_id, status, request.page_size, request.page_token)
        return pb.ListApprovalsResponse(
            approvals=[approval_proto(a) for a in page.items], next_page_token=page.next_cursor
        )

    async def DecideApproval(self, request: pb.DecideApprovalRequest, context: grpc.aio.ServicerContext):
        approval = await self._approvals.decide(
            caller(),
            request.project_id,
            request.approval_id,
            tool_mapping.decision(request.decision),
            request.comment,
        )
        return pb.DecideApprovalResponse(approval=approval_proto(approval))

    async def CreateMcpServer(self, request: pb.CreateMcpServerRequest, context: grpc.aio.ServicerContext):
        server = await self._mcp.create(caller(), request.server.name, request.server.url, dict(request.headers))
        return pb.CreateMcpServerResponse(server=tool_mapping.mcp_server_proto(server))

    async def ListMcpServers(self, request: pb.ListMcpServersRequest, context: grpc.aio.ServicerContext):
        servers = await self._mcp.list(caller())
        return pb.ListMcpServersResponse(servers=[tool_mapping.mcp_server_proto(server) for server in servers])

    async def DeleteMcpServer(self, request: pb.DeleteMcpServerRequest, context: grpc.aio.ServicerContext):
        await self._mcp.delete(caller(), request.name)
        return pb.DeleteMcpServerResponse()

    async def RefreshMcpServer(self, request: pb.RefreshMcpServerRequest, context: grpc.aio.ServicerContext):
        server, tools = await self._mcp.refresh(caller(), request.name)
        return pb.RefreshMcpServerResponse(server=tool_mapping.mcp_server_proto(server), tools=tools)

    async def ReportSystemEvent(self, request: pb.ReportSystemEventRequest, context: grpc.aio.ServicerContext):
        event = await self._intake.report(
            caller(),
            project_id=request.project_id,
            kind=_event_kind(request.kind),
            agent_id=request.agent_id,
            detail=request.detail,
            occurrence_key=request.occurrence_key,
            subject=request.subject,
        )
        return pb.ReportSystemEventResponse(event_id=event.id)


def _event_kind(value: int) -> SystemEventKind | None:
    """SYSTEM_EVENT_KIND_SCHEDULE_FAILED -> SystemEventKind.SCHEDULE_FAILED; None when unset or unknown."""
    try:
        name = system_event_pb2.SystemEventKind.Name(value)  # type: ignore[arg-type]
        return SystemEventKind(name.removeprefix("SYSTEM_EVENT_KIND_").lower())
    except ValueError:
        return None


def register(server: grpc.aio.Server, servicer: AgentServicer) -> None:
    """Add the servicer to a grpc.aio server (ServiceServer.add_servicer calls this)."""
    agent_service_pb2_grpc.add_AgentServiceServicer_to_server(servicer, server)
