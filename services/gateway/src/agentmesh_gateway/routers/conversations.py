"""GET /projects/{p}/conversations/{c}/events: the conversation as Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from agentmesh_core.errors import AgentmeshError, InvalidInput, NotFound
from agentmesh_gateway.deps import ProjectScope, Scope, State, path_id
from agentmesh_gateway.state import GatewayState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/projects/{project_id}/conversations", tags=["conversations"])

KEEPALIVE_SECONDS = 15.0
_END = object()


def sse_frame(event: dict[str, Any]) -> bytes:
    """id = the event's sequence (for Last-Event-ID), event = its type, data = JSON."""
    return f"id: {event['sequence']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _resume_point(last_event_id: str | None, after: int | None) -> int:
    if after is not None:
        return after
    if not last_event_id:
        return 0
    if not last_event_id.isdigit():
        raise InvalidInput("Last-Event-ID must be an event id from this stream")
    return int(last_event_id)


async def _frames(scope: ProjectScope, state: GatewayState, conversation_id: str, after: int) -> AsyncIterator[bytes]:
    """Relay events, with keep-alive comments while the conversation is quiet.

    Runs while the response streams, after the route returned: it binds the
    caller's identity itself for the gRPC stream it opens.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)

    async def pump() -> None:
        try:
            async for event in state.agents.stream_events(scope.project.id, conversation_id, after):
                await queue.put(event)
        except AgentmeshError as error:
            await queue.put({"sequence": 0, "type": "error", "error": error.message})
        finally:
            await queue.put(_END)

    with scope.acting():
        task = asyncio.create_task(pump())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if item is _END:
                return
            yield sse_frame(item)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@router.get("/{conversation_id}/events", response_class=StreamingResponse)
async def conversation_events(
    conversation_id: str,
    scope: Scope,
    state: State,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Tokens, status changes, replies and errors of a conversation; resumable."""
    conversation_id = path_id(conversation_id, "conversation")
    resume_after = _resume_point(last_event_id, after)
    with scope.acting():
        # Answer 404 for a conversation this project does not have, before streaming starts.
        found, _ = await state.agents.list_messages(scope.project.id, {"conversation_id": conversation_id}, 1, "")
    if not found:
        raise NotFound("conversation not found")
    return StreamingResponse(
        _frames(scope, state, conversation_id, resume_after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
