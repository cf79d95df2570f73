"""Telling a conversation's watchers what the runtime is doing (best effort).

The message log in the database is the record; events are notifications. A
publish that fails is logged and processing goes on, so a flaky bus never turns
a good reply into an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agentmesh_agents.domain.models import ConversationEvent, EventType, Message, MessageStatus, utcnow
from agentmesh_agents.domain.ports import ConversationEvents

log = logging.getLogger(__name__)


class EventPublisher:
    """Builds conversation events for a request and publishes them."""

    def __init__(self, events: ConversationEvents, clock: Callable[[], datetime] = utcnow) -> None:
        self._events = events
        self._clock = clock

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
        try:
            await self._events.publish(event, dedup_id)
        except Exception as error:  # noqa: BLE001 - events are notifications; the log is the record
            log.warning("conversation event %s not published (%s)", event.type.value, type(error).__name__)

    async def status(self, request: Message, agent_id: str, status: MessageStatus) -> None:
        """The request's status changed."""
        await self._publish(self._event(EventType.STATUS, request, agent_id, status=status))

    async def token(self, request: Message, agent_id: str, text: str) -> None:
        """A chunk of generated text."""
        await self._publish(self._event(EventType.TOKEN, request, agent_id, text=text))

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
