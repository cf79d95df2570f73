"""AgentService wrapper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import field_mask_pb2

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2, agent_service_pb2_grpc, message_pb2
from agentmesh.common.v1 import participant_pb2
from agentmesh_gateway.clients.convert import (
    enum_name,
    from_struct,
    from_timestamp,
    from_value,
    rpc,
    to_struct,
    to_value,
)
from agentmesh_grpc.errors import from_rpc_error

_AGENT_FIELDS = ("name", "purpose", "system_prompt", "model_config", "agent_type", "status", "topics")


def agent_to_dict(agent: agent_pb2.Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "project_id": agent.project_id,
        "name": agent.name,
        "purpose": agent.purpose,
        "system_prompt": agent.system_prompt,
        "model_config": from_struct(agent.model_config),
        "agent_type": agent.agent_type,
        "status": enum_name(agent_pb2.AgentStatus, agent.status, "AGENT_STATUS_"),
        "topics": list(agent.topics),
        "created_at": from_timestamp(agent.create_time),
        "updated_at": from_timestamp(agent.update_time),
    }


def _agent_from_dict(data: dict[str, Any]) -> agent_pb2.Agent:
    agent = agent_pb2.Agent()
    for key in ("name", "purpose", "system_prompt", "agent_type"):
        if data.get(key) is not None:
            setattr(agent, key, data[key])
    if data.get("model_config") is not None:
        agent.model_config.CopyFrom(to_struct(data["model_config"]))
    if data.get("status"):
        agent.status = agent_pb2.AgentStatus.Value(f"AGENT_STATUS_{data['status'].upper()}")
    if data.get("topics") is not None:
        agent.topics.extend(data["topics"])
    return agent


def _participant(participant: participant_pb2.Participant) -> dict[str, str]:
    return {"type": enum_name(participant_pb2.ParticipantType, participant.type, "PARTICIPANT_TYPE_"),
            "id": participant.id}  # fmt: skip


def message_to_dict(message: message_pb2.Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "project_id": message.project_id,
        "conversation_id": message.conversation_id,
        "sender": _participant(message.sender),
        "receiver": _participant(message.receiver),
        "content": from_value(message.content),
        "performative": message.performative,
        "status": enum_name(message_pb2.MessageStatus, message.status, "MESSAGE_STATUS_"),
        "error": message.error or None,
        "parent_id": message.parent_id or None,
        "correlation_id": message.correlation_id or None,
        "idempotency_key": message.idempotency_key or None,
        "created_at": from_timestamp(message.create_time),
        "updated_at": from_timestamp(message.update_time),
    }


def event_to_dict(event: message_pb2.ConversationEvent) -> dict[str, Any]:
    kind = enum_name(message_pb2.ConversationEventType, event.type, "CONVERSATION_EVENT_TYPE_")
    data: dict[str, Any] = {
        "sequence": event.sequence,
        "type": kind,
        "conversation_id": event.conversation_id,
        "message_id": event.message_id,
        "agent_id": event.agent_id,
        "created_at": from_timestamp(event.create_time),
    }
    if kind == "token":
        data["text"] = event.text
    elif kind == "reply":
        data["reply"] = message_to_dict(event.reply)
    elif kind == "status":
        data["status"] = enum_name(message_pb2.MessageStatus, event.status, "MESSAGE_STATUS_")
    elif kind == "error":
        data["error"] = event.error
    return data


class AgentsClient:
    """Typed calls on AgentService; the caller's identity is bound by the route."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = agent_service_pb2_grpc.AgentServiceStub(channel)

    async def create_agent(self, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
        request = agent_service_pb2.CreateAgentRequest(project_id=project_id, agent=_agent_from_dict(data))
        return agent_to_dict((await rpc(self._stub.CreateAgent(request))).agent)

    async def get_agent(self, project_id: str, agent_id: str) -> dict[str, Any]:
        request = agent_service_pb2.GetAgentRequest(project_id=project_id, agent_id=agent_id)
        return agent_to_dict((await rpc(self._stub.GetAgent(request))).agent)

    async def list_agents(self, project_id: str, limit: int, cursor: str) -> tuple[list[dict], str]:
        request = agent_service_pb2.ListAgentsRequest(project_id=project_id, page_size=limit, page_token=cursor)
        response = await rpc(self._stub.ListAgents(request))
        return [agent_to_dict(a) for a in response.agents], response.next_page_token

    async def update_agent(self, project_id: str, agent_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        agent = _agent_from_dict(changes)
        agent.id = agent_id
        mask = field_mask_pb2.FieldMask(paths=[key for key in changes if key in _AGENT_FIELDS])
        request = agent_service_pb2.UpdateAgentRequest(project_id=project_id, agent=agent, update_mask=mask)
        return agent_to_dict((await rpc(self._stub.UpdateAgent(request))).agent)

    async def delete_agent(self, project_id: str, agent_id: str) -> None:
        request = agent_service_pb2.DeleteAgentRequest(project_id=project_id, agent_id=agent_id)
        await rpc(self._stub.DeleteAgent(request))

    async def send_message(
        self, project_id: str, agent_id: str, content: Any, conversation_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        request = agent_service_pb2.SendMessageRequest(
            project_id=project_id,
            agent_id=agent_id,
            content=to_value(content),
            conversation_id=conversation_id,
            idempotency_key=idempotency_key,
        )
        return message_to_dict((await rpc(self._stub.SendMessage(request))).message)

    async def list_messages(
        self, project_id: str, filters: dict[str, str], limit: int, cursor: str
    ) -> tuple[list[dict], str]:
        status = filters.get("status")
        request = agent_service_pb2.ListMessagesRequest(
            project_id=project_id,
            agent_id=filters.get("agent_id") or "",
            conversation_id=filters.get("conversation_id") or "",
            status=message_pb2.MessageStatus.Value(f"MESSAGE_STATUS_{status.upper()}") if status else 0,
            page_size=limit,
            page_token=cursor,
        )
        response = await rpc(self._stub.ListMessages(request))
        return [message_to_dict(m) for m in response.messages], response.next_page_token

    async def stream_events(self, project_id: str, conversation_id: str, after: int) -> AsyncIterator[dict[str, Any]]:
        """Conversation events from after `after`, then live, until cancelled."""
        request = agent_service_pb2.StreamConversationEventsRequest(
            project_id=project_id, conversation_id=conversation_id, after_sequence=after
        )
        call = self._stub.StreamConversationEvents(request)
        try:
            async for response in call:
                yield event_to_dict(response.event)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()

    async def delete_project_data(self, project_id: str) -> None:
        await rpc(self._stub.DeleteProjectData(agent_service_pb2.DeleteProjectDataRequest(project_id=project_id)))
