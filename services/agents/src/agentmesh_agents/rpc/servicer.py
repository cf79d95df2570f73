"""AgentService over gRPC: check project access, translate, delegate to the domain."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.agents.v1 import agent_service_pb2_grpc
from agentmesh_agents.domain.messaging import Messaging, Outgoing
from agentmesh_agents.domain.models import MessageFilter
from agentmesh_agents.domain.registry import AgentRegistry
from agentmesh_agents.rpc import mapping
from agentmesh_core.identity import Identity, require_project_access
from agentmesh_core.ids import parse_id
from agentmesh_grpc.identity import caller


def _scope(project_id: str, *, admin: bool = False) -> tuple[Identity, str]:
    """The caller and the canonical project id, once the caller may act in the project."""
    identity = caller()
    require_project_access(identity, project_id, admin=admin)
    return identity, parse_id(project_id, "project_id")


def _optional_id(value: str, what: str) -> str | None:
    return parse_id(value, what) if value else None


class AgentServicer(agent_service_pb2_grpc.AgentServiceServicer):
    """Reads need project membership; writes need project admin (or a privileged caller)."""

    def __init__(self, registry: AgentRegistry, messaging: Messaging) -> None:
        self._registry = registry
        self._messaging = messaging

    async def CreateAgent(self, request: pb.CreateAgentRequest, context: grpc.aio.ServicerContext):
        _, project_id = _scope(request.project_id, admin=True)
        agent = await self._registry.create(project_id, mapping.agent_draft(request.agent))
        return pb.CreateAgentResponse(agent=mapping.agent_proto(agent))

    async def GetAgent(self, request: pb.GetAgentRequest, context: grpc.aio.ServicerContext):
        _, project_id = _scope(request.project_id)
        agent = await self._registry.get(project_id, parse_id(request.agent_id, "agent_id"))
        return pb.GetAgentResponse(agent=mapping.agent_proto(agent))

    async def ListAgents(self, request: pb.ListAgentsRequest, context: grpc.aio.ServicerContext):
        _, project_id = _scope(request.project_id)
        page = await self._registry.list(project_id, request.page_size, request.page_token)
        return pb.ListAgentsResponse(
            agents=[mapping.agent_proto(agent) for agent in page.items], next_page_token=page.next_cursor
        )

    async def UpdateAgent(self, request: pb.UpdateAgentRequest, context: grpc.aio.ServicerContext):
        _, project_id = _scope(request.project_id, admin=True)
        agent_id = parse_id(request.agent.id, "agent.id")
        changes = mapping.agent_changes(request.agent, request.update_mask.paths)
        agent = await self._registry.update(project_id, agent_id, changes)
        return pb.UpdateAgentResponse(agent=mapping.agent_proto(agent))

    async def DeleteAgent(self, request: pb.DeleteAgentRequest, context: grpc.aio.ServicerContext):
        _, project_id = _scope(request.project_id, admin=True)
        await self._registry.delete(project_id, parse_id(request.agent_id, "agent_id"))
        return pb.DeleteAgentResponse()

    async def SendMessage(self, request: pb.SendMessageRequest, context: grpc.aio.ServicerContext):
        identity, project_id = _scope(request.project_id)
        outgoing = Outgoing(
            agent_id=request.agent_id,
            content=mapping.json_value(request.content),
            conversation_id=request.conversation_id,
            idempotency_key=request.idempotency_key,
            performative=request.performative,
            correlation_id=request.correlation_id,
        )
        message = await self._messaging.send(identity, project_id, outgoing)
        return pb.SendMessageResponse(message=mapping.message_proto(message))

    async def ListMessages(self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext):
        _, project_id = _scope(request.project_id)
        where = MessageFilter(
            agent_id=_optional_id(request.agent_id, "agent_id"),
            conversation_id=_optional_id(request.conversation_id, "conversation_id"),
            status=mapping.message_status(request.status),
        )
        page = await self._messaging.list(project_id, where, request.page_size, request.page_token)
        return pb.ListMessagesResponse(
            messages=[mapping.message_proto(message) for message in page.items], next_page_token=page.next_cursor
        )

    async def StreamConversationEvents(
        self, request: pb.StreamConversationEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamConversationEventsResponse]:
        _, project_id = _scope(request.project_id)
        events = await self._messaging.watch(project_id, request.conversation_id, request.after_sequence)
        async for event in events:
            yield pb.StreamConversationEventsResponse(event=mapping.event_proto(event))

    async def DeleteProjectData(self, request: pb.DeleteProjectDataRequest, context: grpc.aio.ServicerContext):
        _, project_id = _scope(request.project_id, admin=True)
        removed = await self._messaging.delete_project_data(project_id)
        return pb.DeleteProjectDataResponse(removed=mapping.struct_proto(dict(removed)))
