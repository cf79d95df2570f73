"""Sending messages to agents and reading the project's message log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from agentmesh_core.pagination import decode_cursor
from agentmesh_gateway.deps import Scope, State, path_id
from agentmesh_gateway.schemas.agents import MessageAccepted, MessageIn, MessageOut, MessageStatus
from agentmesh_gateway.schemas.common import Cursor, Limit, Page, page

router = APIRouter(prefix="/projects/{project_id}", tags=["messages"])


@router.post("/agents/{agent_id}/messages", response_model=MessageAccepted, status_code=status.HTTP_202_ACCEPTED)
async def send_message(agent_id: str, body: MessageIn, scope: Scope, state: State) -> MessageAccepted:
    """Queue a message in the agent's mailbox; the reply arrives on the conversation's events."""
    with scope.acting():
        message = await state.agents.send_message(
            scope.project.id,
            path_id(agent_id, "agent"),
            body.content,
            str(body.conversation_id) if body.conversation_id else "",
            body.idempotency_key or "",
        )
    return MessageAccepted(
        message_id=message["id"], conversation_id=message["conversation_id"], status=message["status"]
    )


@router.get("/messages", response_model=Page[MessageOut])
async def list_messages(
    scope: Scope,
    state: State,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    conversation_id: Annotated[str | None, Query(max_length=64)] = None,
    status_filter: Annotated[MessageStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict:
    """The message log, newest first."""
    decode_cursor(cursor or "")
    filters = {
        "agent_id": path_id(agent_id, "agent") if agent_id else "",
        "conversation_id": path_id(conversation_id, "conversation") if conversation_id else "",
        "status": status_filter or "",
    }
    with scope.acting():
        return page(*await state.agents.list_messages(scope.project.id, filters, limit, cursor or ""))
