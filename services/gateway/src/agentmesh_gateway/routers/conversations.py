"""GET /projects/{p}/conversations/{c}/events: a conversation as Server-Sent Events.

Each event is one SSE frame: `id:` the event's sequence (what the browser sends
back as Last-Event-ID when it reconnects), `event:` its type (token, reply,
status, error), `data:` the event as JSON. Comment lines keep idle connections
open through proxies. The stream ends when the client goes away, or with an
`access_revoked` error frame once the caller loses access (stream_access.py).

A browser's EventSource authenticates with `?ticket=` (POST /auth/stream-ticket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from agentmesh_core.errors import AgentmeshError, InvalidInput
from agentmesh_gateway.deps import State, path_id
from agentmesh_gateway.schemas.messages import ConversationEventOut
from agentmesh_gateway.stream_access import AccessWatch, StreamScopeDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/projects/{project_id}/conversations", tags=["conversations"])

KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
# Event sequences are signed 64-bit in storage (the proto field is uint64): a resume
# point past them is refused before the stream opens, not mid-response.
MAX_SEQUENCE = 2**63 - 1
_END = object()
_REVOKED = object()


def sse_frame(event: ConversationEventOut) -> bytes:
    """One event as an SSE frame (JSON has no raw newlines, so data is one line)."""
    data = event.model_dump_json(exclude_none=True)
    return f"id: {event.sequence}\nevent: {event.type}\ndata: {data}\n\n".encode()


def error_frame(message: str, code: str = "unavailable") -> bytes:
    """An error of the stream itself; no id, so a reconnect resumes where the events stopped."""
    return f'event: error\ndata: {{"type": "error", "code": "{code}", "error": "{message}"}}\n\n'.encode()


def resume_point(last_event_id: str | None, after: int | None) -> int:
    """The sequence to resume after: ?after= wins over the Last-Event-ID header."""
    if after is not None:
        return after
    if not last_event_id or not last_event_id.strip():
        return 0
    text = last_event_id.strip()
    # isdecimal() alone admits other scripts' digits ("٣"); event ids are ASCII.
    if not (text.isascii() and text.isdecimal()) or int(text) > MAX_SEQUENCE:
        raise InvalidInput("Last-Event-ID must be an event id from this stream")
    return int(text)


async def event_frames(
    events: AsyncIterator[ConversationEventOut],
    conversation_id: str,
    access_lost: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """Relay an opened event stream, with keep-alive comments while it is quiet.

    This runs while the response streams, after the route has returned; the
    stream was opened (with the caller's identity) before that. When
    access_lost returns, the stream ends with an `access_revoked` error frame.
    """
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=256)

    async def pump() -> None:
        try:
            async for event in events:
                await queue.put(event)
        except AgentmeshError as error:
            log.info("conversation stream %s ended: %s", conversation_id, error.code)
            await queue.put(error)
        finally:
            await queue.put(_END)

    async def watch() -> None:
        if access_lost is not None:
            await access_lost()
            # Ahead of any queued events: nothing more is relayed to a caller without access.
            revoked.set()
            with contextlib.suppress(asyncio.QueueFull):  # a full queue wakes the loop anyway
                queue.put_nowait(_REVOKED)

    revoked = asyncio.Event()
    task = asyncio.create_task(pump())
    watcher = asyncio.create_task(watch())
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE_SECONDS):
                    item = await queue.get()
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if revoked.is_set():
                yield error_frame("access to this project was revoked", "access_revoked")
                return
            if item is _END:
                return
            if isinstance(item, AgentmeshError):
                yield error_frame("the event stream was interrupted; reconnect to resume")
                continue
            if isinstance(item, ConversationEventOut):
                yield sse_frame(item)
    finally:
        for running in (task, watcher):
            running.cancel()
        for running in (task, watcher):
            with contextlib.suppress(asyncio.CancelledError):
                await running


@router.get("/{conversation_id}/events", response_class=StreamingResponse)
async def conversation_events(
    conversation_id: str,
    stream: StreamScopeDep,
    state: State,
    last_event_id: Annotated[str | None, Header(max_length=32, description="resume after this event")] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQUENCE, description="resume after this sequence (wins over the header)")
    ] = None,
) -> StreamingResponse:
    """Tokens, status changes, replies and errors of a conversation, live; resumable."""
    conversation_id = path_id(conversation_id, "conversation")
    resume_after = resume_point(last_event_id, after)
    scope = stream.scope
    with scope.acting():
        # Opening the stream is the existence check: the agents service refuses an unknown
        # conversation before any event, so the 404 is still ours to send; once the
        # response starts streaming, the status is 200.
        events = await state.agents.open_events(scope.project.id, conversation_id, resume_after)
    interval = state.settings.stream_access_recheck_seconds
    watch = AccessWatch(state.accounts, state.stream_tickets, stream.caller, scope.project.id, interval)
    return StreamingResponse(
        event_frames(events, conversation_id, watch.lost),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
