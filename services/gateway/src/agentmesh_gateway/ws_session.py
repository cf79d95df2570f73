"""One WebSocket session on WS /projects/{p}/ws: the protocol, frame by frame.

Every frame is one JSON object with a `type`. The client authenticates with
`?ticket=` on the URL or, first thing, `{"type": "auth", "ticket"|"token": ...}`;
the server answers `{"type": "ready"}`. Then, in any order:

- `{"type": "subscribe", "conversation_id", "after"?}`: `subscribed`, then
  `{"type": "event", "conversation_id", "event": {...}}`, the SSE route's events,
  resumable after the sequence `after`;
- `{"type": "unsubscribe", "conversation_id"}`: `unsubscribed`;
- `{"type": "send", "agent_id", "content", "conversation_id"?, "idempotency_key"?,
  "subscribe"?, "request_id"?}`: `{"type": "sent", "message_id", "conversation_id",
  "status", "request_id"}` (with subscribe, its conversation is subscribed from the start);
- `{"type": "ping"}`: `{"type": "pong"}`.

A bad frame or a refused call is answered `{"type": "error", "code", "message"}` and
the session goes on. The server closes with 4401 (not authenticated), 4404 (no such
project, or not a member) or 4403 (access lost while open, after an
`access_revoked` error frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from agentmesh_core.errors import AgentmeshError, InvalidInput, NotFound, Unauthenticated
from agentmesh_gateway.access_log import record_user
from agentmesh_gateway.accounts.stream_tickets import StreamCaller
from agentmesh_gateway.deps import ProjectScope, path_id
from agentmesh_gateway.schemas.messages import ConversationEventOut, MessageIn
from agentmesh_gateway.state import GatewayState
from agentmesh_gateway.stream_access import AccessWatch, caller_from

log = logging.getLogger(__name__)

AUTH_TIMEOUT_SECONDS = 10.0
MAX_SUBSCRIPTIONS = 32
MAX_FRAME_CHARACTERS = 256 * 1024
CLOSE_UNAUTHENTICATED = 4401
CLOSE_ACCESS_LOST = 4403
CLOSE_NOT_FOUND = 4404


class _Send(MessageIn):
    agent_id: str
    subscribe: bool = False


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


class WsSession:
    """The state of one socket: its caller, its subscriptions, one writer."""

    def __init__(self, websocket: WebSocket, state: GatewayState, project_id: str) -> None:
        self.ws = websocket
        self.state = state
        self.project_id = project_id
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1024)
        self.subscriptions: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Accept, authenticate, then serve frames until either side closes or access is lost."""
        await self.ws.accept()
        try:
            scope, caller = await self._authenticate()
        except (Unauthenticated, InvalidInput, TimeoutError) as error:
            message = getattr(error, "message", "authentication timed out")
            await self.ws.close(CLOSE_UNAUTHENTICATED, message)
            return
        except NotFound:
            await self.ws.close(CLOSE_NOT_FOUND, "project not found")
            return
        except WebSocketDisconnect:
            return
        record_user(self.ws.scope.get("state"), caller.user.id)
        interval = self.state.settings.stream_access_recheck_seconds
        watch = AccessWatch(self.state.accounts, self.state.stream_tickets, caller, scope.project.id, interval)
        await self.ws.send_json({"type": "ready", "project_id": scope.project.id, "user_id": caller.user.id})
        tasks = [asyncio.create_task(self._read(scope)), asyncio.create_task(self._write()),
                 asyncio.create_task(watch.lost())]  # fmt: skip
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if tasks[2] in done:
                await self._flush_then(_error("access_revoked", "access to this project was revoked"))
                await self.ws.close(CLOSE_ACCESS_LOST, "access revoked")
        finally:
            for task in [*tasks, *self.subscriptions.values()]:
                task.cancel()
            for task in [*tasks, *self.subscriptions.values()]:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task

    async def _authenticate(self) -> tuple[ProjectScope, StreamCaller]:
        ticket = self.ws.query_params.get("ticket")
        token = None
        if ticket is None:
            async with asyncio.timeout(AUTH_TIMEOUT_SECONDS):
                frame = await self._receive()
            if frame.get("type") != "auth":
                raise Unauthenticated('the first frame must be {"type": "auth", "ticket" or "token"}')
            ticket, token = frame.get("ticket"), frame.get("token")
            if not isinstance(ticket, str | None) or not isinstance(token, str | None) or not (ticket or token):
                raise Unauthenticated("auth needs a ticket or a token")
        caller = await caller_from(self.state.accounts, self.state.stream_tickets, token, ticket)
        project, role = await self.state.accounts.project_for(caller.user, self.project_id)
        return ProjectScope(project, caller.user, role), caller

    async def _receive(self) -> dict[str, Any]:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:  # a binary frame
            raise InvalidInput("frames are JSON text, not binary")
        if len(text) > MAX_FRAME_CHARACTERS:
            raise InvalidInput(f"frames are at most {MAX_FRAME_CHARACTERS} characters")
        try:
            frame = json.loads(text)
        except ValueError:
            raise InvalidInput("a frame is one JSON object") from None
        if not isinstance(frame, dict):
            raise InvalidInput("a frame is one JSON object")
        return frame

    async def _read(self, scope: ProjectScope) -> None:
        while True:
            try:
                frame = await self._receive()
                await self._handle(scope, frame)
            except WebSocketDisconnect:
                return
            except AgentmeshError as error:
                await self.outbox.put(_error(error.code, error.message))

    async def _handle(self, scope: ProjectScope, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ping":
            await self.outbox.put({"type": "pong"})
        elif kind == "subscribe":
            await self._subscribe(scope, frame.get("conversation_id"), frame.get("after", 0))
        elif kind == "unsubscribe":
            conversation_id = _conversation(frame.get("conversation_id"))
            task = self.subscriptions.pop(conversation_id, None)
            if task:
                task.cancel()
            await self.outbox.put({"type": "unsubscribed", "conversation_id": conversation_id})
        elif kind == "send":
            await self._send(scope, frame)
        else:
            raise InvalidInput("type must be one of ping, subscribe, unsubscribe, send")

    async def _subscribe(self, scope: ProjectScope, conversation: object, after: object) -> None:
        conversation_id = _conversation(conversation)
        if type(after) is not int or not 0 <= after <= 2**63 - 1:
            raise InvalidInput("after must be an event sequence (an integer >= 0)")
        if conversation_id in self.subscriptions:
            raise InvalidInput("already subscribed to this conversation")
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise InvalidInput(f"at most {MAX_SUBSCRIPTIONS} subscriptions per socket")
        with scope.acting():
            try:
                events = await self.state.agents.open_events(scope.project.id, conversation_id, after)
            except AgentmeshError as error:
                await self.outbox.put(_error(error.code, error.message, conversation_id=conversation_id))
                return
        await self.outbox.put({"type": "subscribed", "conversation_id": conversation_id})
        self.subscriptions[conversation_id] = asyncio.create_task(self._relay(conversation_id, events))

    async def _relay(self, conversation_id: str, events: AsyncIterator[ConversationEventOut]) -> None:
        try:
            async for event in events:
                body = event.model_dump(mode="json", exclude_none=True)
                await self.outbox.put({"type": "event", "conversation_id": conversation_id, "event": body})
        except AgentmeshError as error:
            log.info("conversation stream %s ended: %s", conversation_id, error.code)
            message = "the event stream was interrupted; subscribe again to resume"
            await self.outbox.put(_error("unavailable", message, conversation_id=conversation_id))
        finally:
            self.subscriptions.pop(conversation_id, None)

    async def _send(self, scope: ProjectScope, frame: dict[str, Any]) -> None:
        request_id = frame.get("request_id")
        reference = {"request_id": request_id} if isinstance(request_id, str | int) else {}
        try:
            body = _Send.model_validate({k: v for k, v in frame.items() if k not in ("type", "request_id")})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            await self.outbox.put(_error("invalid_argument", f"{where}: {first.get('msg')}", **reference))
            return
        try:
            with scope.acting():
                agent_id = path_id(body.agent_id, "agent")
                message = await self.state.agents.send_message(scope.project.id, agent_id, body)
        except AgentmeshError as error:
            await self.outbox.put(_error(error.code, error.message, **reference))
            return
        if body.subscribe and message.conversation_id not in self.subscriptions:
            await self._subscribe(scope, message.conversation_id, 0)
        sent = {"message_id": message.id, "conversation_id": message.conversation_id, "status": message.status}
        await self.outbox.put({"type": "sent", **sent, **reference})

    async def _write(self) -> None:
        while True:
            await self.ws.send_json(await self.outbox.get())

    async def _flush_then(self, last: dict[str, Any]) -> None:
        # Whatever was queued before access was lost is dropped: the caller may not see it.
        while not self.outbox.empty():
            self.outbox.get_nowait()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self.ws.send_json(last)


def _conversation(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("conversation_id must be a conversation id")
    try:
        return path_id(value, "conversation")
    except NotFound:
        raise InvalidInput("conversation_id must be a conversation id") from None
