"""Telling a conversation's watchers what the runtime is doing (best effort).

The message log in the database is the record; events are notifications. A
publish that fails is logged and processing goes on, so a flaky bus never turns
a good reply into an error.

A status can be published ahead (`status_ahead`): the turn goes on at once, and
the request's next event waits until the status is out, so watchers still see
the events in the order they were made.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agentmesh_agents.domain.models import ConversationEvent, EventType, Message, MessageStatus, utcnow
from agentmesh_agents.domain.ports import ConversationEvents
from agentmesh_agents.domain.tool_models import Approval, ToolCallRecord

log = logging.getLogger(__name__)


class EventPublisher:
    """Builds conversation events for a request and publishes them."""

    def __init__(self, events: ConversationEvents, clock: Callable[[], datetime] = utcnow) -> None:
        self._events = events
        self._clock = clock
        self._ahead: dict[str, asyncio.Task[None]] = {}  # request id -> its status still being published

    def _event(self, kind: EventType, request: Message, agent_id: str, **fields: Any) -> ConversationEvent:
        return ConversationEvent(
            type=kind,
            project_id=request.project_id,
            conversation_id=request.conversation_id,
            message_id=request.id,
            agent_id=agent_id,
            created_at=self._clock(),
            **fields,
        )

    async def _publish(self, event: ConversationEvent, dedup_id: str | None = None) -> None:
        ahead = self._ahead.get(event.message_id)
        if ahead is not None:
            await asyncio.wait([ahead])  # (a status published ahead never raises; its cancel is not ours)
        await self._send(event, dedup_id)

    async def _send(self, event: ConversationEvent, dedup_id: str | None = None) -> None:
        try:
            await self._events.publish(event, dedup_id)
        except Exception as error:  # noqa: BLE001 - events are notifications; the log is the record
            log.warning("conversation event %s not published (%s)", event.type.value, type(error).__name__)

    async def status(self, request: Message, agent_id: str, status: MessageStatus) -> None:
        """The request's status changed."""
        await self._publish(self._event(EventType.STATUS, request, agent_id, status=status))

    def status_ahead(self, request: Message, agent_id: str, status: MessageStatus) -> None:
        """As status, without waiting for the bus: the request's next event goes out after this one."""
        earlier = self._ahead.get(request.id)
        task = asyncio.get_running_loop().create_task(self._status_after(earlier, request, agent_id, status))
        self._ahead[request.id] = task
        task.add_done_callback(functools.partial(self._out, request.id))

    def _out(self, request_id: str, task: asyncio.Task[None]) -> None:
        if self._ahead.get(request_id) is task:  # not a later status published ahead of the same request
            del self._ahead[request_id]

    async def _status_after(
        self, earlier: asyncio.Task[None] | None, request: Message, agent_id: str, status: MessageStatus
    ) -> None:
        if earlier is not None:
            await asyncio.wait([earlier])
        await self._send(self._event(EventType.STATUS, request, agent_id, status=status))

    async def token(self, request: Message, agent_id: str, text: str) -> None:
        """A chunk of generated text."""
        await self._publish(self._event(EventType.TOKEN, request, agent_id, text=text))

    async def reset(self, request: Message, agent_id: str) -> None:
        """The turn restarts: watchers drop the tokens they got for it so far (one more reset is harmless)."""
        await self._publish(self._event(EventType.RESET, request, agent_id))

    async def recall_skipped(self, request: Message, agent_id: str, reason: str) -> None:
        """Project memory was not consulted for the turn (reason: "deadline_exceeded", "unavailable", ...)."""
        await self._publish(
            self._event(EventType.RECALL_SKIPPED, request, agent_id, text=reason), dedup_id=f"recall-{request.id}"
        )

    async def reply(self, request: Message, agent_id: str, reply: Message) -> None:
        """The final reply (published once per request: the dedup id is the request's)."""
        await self._publish(
            self._event(EventType.REPLY, request, agent_id, reply=reply, status=MessageStatus.COMPLETE),
            dedup_id=f"reply-{request.id}",
        )

    async def error(self, request: Message, agent_id: str, text: str) -> None:
        """Processing failed; text is safe to show the sender."""
        await self._publish(
            self._event(EventType.ERROR, request, agent_id, error=text, status=MessageStatus.ERROR),
            dedup_id=f"error-{request.id}",
        )

    async def tool_call(self, request: Message, agent_id: str, call: ToolCallRecord) -> None:
        """The agent asked for a tool call (published before it runs, or is refused)."""
        await self._publish(
            self._event(EventType.TOOL_CALL, request, agent_id, tool_call=call), dedup_id=f"tool-call-{call.id}"
        )

    async def tool_result(self, request: Message, agent_id: str, call: ToolCallRecord, observation: str) -> None:
        """A tool call ended: its outcome, and the observation the agent got back."""
        await self._publish(
            self._event(EventType.TOOL_RESULT, request, agent_id, tool_call=call, text=observation),
            dedup_id=f"tool-result-{call.id}",
        )

    async def approval_required(self, request: Message, agent_id: str, approval: Approval) -> None:
        """A tool call waits for a human; the turn is parked."""
        await self._publish(
            self._event(EventType.APPROVAL_REQUIRED, request, agent_id, approval=approval),
            dedup_id=f"approval-required-{approval.id}",
        )
        await self.status(request, agent_id, MessageStatus.AWAITING_APPROVAL)

    async def delegated(self, request: Message, agent_id: str, delegation: Message) -> None:
        """The agent working on `request` asked another agent (`delegation` is the message it sent)."""
        await self._publish(
            self._event(EventType.DELEGATED, request, agent_id, delegation=delegation),
            dedup_id=f"delegated-{delegation.id}",
        )

    async def delegation_reply(self, request: Message, agent_id: str, delegation: Message, text: str) -> None:
        """A delegated message's turn ended: `text` is its answer, or what went wrong."""
        await self._publish(
            self._event(EventType.DELEGATION_REPLY, request, agent_id, delegation=delegation, text=text),
            dedup_id=f"delegation-reply-{delegation.id}",
        )

    async def cancelled(self, request: Message, agent_id: str) -> None:
        """The request was cancelled; its turn stops."""
        await self._publish(
            self._event(EventType.CANCELLED, request, agent_id, status=MessageStatus.CANCELLED),
            dedup_id=f"cancelled-{request.id}",
        )

    async def approval_decided(self, request: Message, agent_id: str, approval: Approval) -> None:
        """An approval was decided, or expired."""
        await self._publish(
            self._event(EventType.APPROVAL_DECIDED, request, agent_id, approval=approval),
            dedup_id=f"approval-decided-{approval.id}",
        )
