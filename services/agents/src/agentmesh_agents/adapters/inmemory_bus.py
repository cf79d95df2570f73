"""In-memory mailbox and conversation event log, for unit tests.

They keep the bus's rules that the domain relies on: posts and events are
deduplicated by id, and events get increasing sequence numbers that a watcher
can resume after.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

from agentmesh_agents.domain.models import ConversationEvent, Message
from agentmesh_core.errors import Unavailable


class InMemoryMailbox:
    """Mailbox that records posts in order; set `down` to make posts fail."""

    def __init__(self) -> None:
        self.posted: list[Message] = []
        self._ids: set[str] = set()
        self.down = False

    async def post(self, message: Message) -> None:
        if self.down:
            raise Unavailable("message bus unavailable")
        if message.id not in self._ids:
            self._ids.add(message.id)
            self.posted.append(message)

    def take(self) -> list[Message]:
        """Everything posted so far, emptying the mailbox (and, like an expired
        dedup window, forgetting the ids)."""
        taken, self.posted = self.posted, []
        self._ids.clear()
        return taken


class InMemoryConversationEvents:
    """ConversationEvents and ConversationFeed in a list."""

    def __init__(self) -> None:
        self.events: list[ConversationEvent] = []
        self._dedup: set[str] = set()
        self._changed = asyncio.Condition()

    async def publish(self, event: ConversationEvent, dedup_id: str | None = None) -> None:
        if dedup_id is not None:
            if dedup_id in self._dedup:
                return
            self._dedup.add(dedup_id)
        async with self._changed:
            self.events.append(dataclasses.replace(event, sequence=len(self.events) + 1))
            self._changed.notify_all()

    def of(self, conversation_id: str) -> list[ConversationEvent]:
        """The stored events of one conversation."""
        return [e for e in self.events if e.conversation_id == conversation_id]

    async def subscribe(
        self, project_id: str, conversation_id: str, after_sequence: int
    ) -> AsyncIterator[ConversationEvent]:
        position = after_sequence
        while True:
            async with self._changed:
                seen = position
                await self._changed.wait_for(lambda seen=seen: len(self.events) > seen)
                fresh = self.events[position:]
            position += len(fresh)
            for event in fresh:
                if event.project_id == project_id and event.conversation_id == conversation_id:
                    yield event

    async def purge_project(self, project_id: str) -> None:
        # Keep positions stable, as a stream purge keeps sequence numbers.
        self.events = [
            e if e.project_id != project_id else dataclasses.replace(e, project_id="", conversation_id="")
            for e in self.events
        ]
