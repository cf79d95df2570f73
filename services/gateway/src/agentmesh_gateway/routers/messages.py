"""Talking to agents, and the project's message log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from agentmesh_core.ids import parse_id
from agentmesh_gateway.deps import AgentsDep, Scope, path_id
from agentmesh_gateway.schemas.common import Cursor, Limit, Page
from agentmesh_gateway.schemas.messages import MessageAccepted, MessageFilter, MessageIn, MessageOut, MessageStatus

router = APIRouter(prefix="/projects/{project_id}", tags=["messages"])


@router.post("/agents/{agent_id}/messages", response_model=MessageAccepted, status_code=status.HTTP_202_ACCEPTED)
async def send_message(agent_id: str, body: MessageIn, scope: Scope, agents: AgentsDep) -> MessageAccepted:
    """Queue a message in the agent's mailbox; the reply arrives on the conversation's events.

    The same `idempotency_key` sent again returns the first message instead of a second one.
    """
    with scope.acting():
        message = await agents.send_message(scope.project.id, path_id(agent_id, "agent"), body)
    return MessageAccepted(message_id=message.id, conversation_id=message.conversation_id, status=message.status)


@router.post("/messages/{message_id}/cancel", response_model=MessageOut)
async def cancel_message(message_id: str, scope: Scope, agents: AgentsDep) -> MessageOut:
    """Stop a message's turn, in flight or parked, and the turns it delegated to (its sender or a project admin).

    409 once the message is complete, failed or cancelled; the conversation shows `cancelled` events.
    """
    with scope.acting():
        return await agents.cancel_message(scope.project.id, path_id(message_id, "message"))


@router.get("/messages", response_model=Page[MessageOut])
async def list_messages(
    scope: Scope,
    agents: AgentsDep,
    agent_id: Annotated[str | None, Query(max_length=64, description="sent by or to this agent")] = None,
    conversation_id: Annotated[str | None, Query(max_length=64)] = None,
    status_filter: Annotated[MessageStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[MessageOut]:
    """The message log, filtered by agent, conversation and status."""
    where = MessageFilter(
        agent_id=parse_id(agent_id, "agent_id") if agent_id else "",
        conversation_id=parse_id(conversation_id, "conversation_id") if conversation_id else "",
        status=status_filter,
    )
    with scope.acting():
        return await agents.list_messages(scope.project.id, where, limit, cursor or "")
