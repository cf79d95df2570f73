"""In-memory doubles of the agents service's ports, for unit tests.

They follow the real adapters' rules the domain relies on (unique agent names
per project, the idempotency key, one reply per request, final statuses stay
final, mailbox posts and events deduplicated by id, event sequences a watcher
can resume after); the adapter test suites run against both to keep them honest.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

from agentmesh_agents.adapters.tool_fakes import ToolState
from agentmesh_agents.codec import encode_event
from agentmesh_agents.domain.models import (
    REPLY_PERFORMATIVE,
    STEP_PERFORMATIVES,
    Agent,
    ConversationEvent,
    Message,
    MessageFilter,
    MessageStatus,
)
from agentmesh_agents.domain.models import ParticipantType as Kind
from agentmesh_agents.domain.ports import DeliveryState, StoredEvent
from agentmesh_core.errors import AgentmeshError, AlreadyExists, FailedPrecondition, NotFound, Unavailable
from agentmesh_core.ids import new_id

_NAME_TAKEN = "an agent with this name already exists in the project"
_UNFINISHED = (MessageStatus.QUEUED, MessageStatus.PROCESSING)


class InMemoryAgentRepository:
    """AgentRepository in a dict."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}

    def _clash(self, agent: Agent) -> bool:
        return any(
            other.project_id == agent.project_id and other.name == agent.name and other.id != agent.id
            for other in self.agents.values()
        )

    async def add(self, agent: Agent) -> Agent:
        if self._clash(agent) or agent.id in self.agents:
            raise AlreadyExists(_NAME_TAKEN)
        self.agents[agent.id] = agent
        return agent

    async def get(self, project_id: str, agent_id: str) -> Agent | None:
        agent = self.agents.get(agent_id)
        return agent if agent and agent.project_id == project_id else None

    async def list(self, project_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Agent]:
        mine = sorted(
            (
                a
                for a in self.agents.values()
                if a.project_id == project_id and (after is None or (a.created_at, a.id) > after)
            ),
            key=lambda a: (a.created_at, a.id),
        )
        return mine[:limit]

    async def update(self, agent: Agent) -> Agent | None:
        if await self.get(agent.project_id, agent.id) is None:
            return None
        if self._clash(agent):
            raise AlreadyExists(_NAME_TAKEN)
        self.agents[agent.id] = agent
        return agent

    async def delete(self, project_id: str, agent_id: str) -> bool:
        if await self.get(project_id, agent_id) is None:
            return False
        del self.agents[agent_id]
        return True

    async def named(self, project_id: str, name: str) -> Agent | None:
        return next((a for a in self.agents.values() if a.project_id == project_id and a.name == name), None)

    async def delete_project(self, project_id: str) -> int:
        doomed = [a.id for a in self.agents.values() if a.project_id == project_id]
        for agent_id in doomed:
            del self.agents[agent_id]
        return len(doomed)


class InMemoryMessageRepository:
    """MessageRepository in a dict (plus when each message was last published)."""

    def __init__(self, agents: InMemoryAgentRepository, tools: ToolState | None = None) -> None:
        self.messages: dict[str, Message] = {}
        self.published_at: dict[str, datetime] = {}
        self._agents = agents
        self.tools = tools or ToolState(agents)

    def _scoped(self, project_id: str) -> list[Message]:
        return [m for m in self.messages.values() if m.project_id == project_id]

    def reply_to(self, request: Message) -> Message | None:
        """The stored reply to a request (for tests)."""
        replies = (m for m in self._scoped(request.project_id) if m.parent_id == request.id)
        return next((m for m in replies if m.performative == REPLY_PERFORMATIVE), None)

    async def add(self, message: Message) -> tuple[Message, bool]:
        receiver = message.receiver
        if receiver.type is Kind.AGENT and await self._agents.get(message.project_id, receiver.id) is None:
            raise NotFound("agent not found")
        for other in self._scoped(message.project_id):
            if message.idempotency_key and other.idempotency_key == message.idempotency_key:
                return other, False
        if message.id in self.messages:
            raise AlreadyExists("message already exists")
        self.messages[message.id] = message
        return message, True

    async def get(self, project_id: str, message_id: str) -> Message | None:
        message = self.messages.get(message_id)
        return message if message and message.project_id == project_id else None

    async def list(
        self, project_id: str, where: MessageFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[Message]:
        def matches(m: Message) -> bool:
            if after is not None and (m.created_at, m.id) >= after:
                return False
            if where.agent_id and not any(
                p.type is Kind.AGENT and p.id == where.agent_id for p in (m.sender, m.receiver)
            ):
                return False
            if where.conversation_id and m.conversation_id != where.conversation_id:
                return False
            if where.hidden_conversation_id and m.conversation_id == where.hidden_conversation_id:
                return False
            return not (where.status and m.status is not where.status)

        found = sorted(filter(matches, self._scoped(project_id)), key=lambda m: (m.created_at, m.id), reverse=True)
        return found[:limit]

    async def conversation_exists(self, project_id: str, conversation_id: str) -> bool:
        return any(m.conversation_id == conversation_id for m in self._scoped(project_id))

    async def delivery_state(
        self,
        project_id: str,
        agent_id: str,
        message_id: str,
        begin: Callable[[DeliveryState], bool] | None = None,
        history_limit: int = 0,
    ) -> DeliveryState:
        state = await self._delivery_state(project_id, agent_id, message_id)
        if state.request is None or begin is None or not begin(state):
            return state
        return dataclasses.replace(state, history=tuple(await self.begin_processing(state.request, history_limit)))

    async def _delivery_state(self, project_id: str, agent_id: str, message_id: str) -> DeliveryState:
        request = await self.get(project_id, message_id)
        if request is None or request.status.is_final:
            return DeliveryState(request)
        earlier = [
            m
            for m in self._scoped(project_id)
            if m.receiver == request.receiver and m.status in _UNFINISHED and m.created_at < request.created_at
        ]
        agent = await self._agents.get(project_id, agent_id)
        return DeliveryState(
            request,
            agent=agent,
            answered=self.reply_to(request) is not None,
            earlier_id=min(earlier, key=lambda m: m.created_at).id if earlier else None,
            grants=tuple(self.tools.granted(project_id, agent_id)) if agent else (),
            turn=self.tools.turns.get(request.id),
        )

    # builtins.list from here on: inside the class, `list` is the method above.
    async def begin_processing(self, request: Message, history_limit: int) -> builtins.list[Message]:
        current = await self.get(request.project_id, request.id)
        if current is not None and current.status is not MessageStatus.PROCESSING:
            await self.set_status(request.project_id, request.id, MessageStatus.PROCESSING)
        if history_limit <= 0:
            return []
        history = sorted(
            (
                m
                for m in self._scoped(request.project_id)
                if m.conversation_id == request.conversation_id
                and m.status is MessageStatus.COMPLETE
                and m.created_at < request.created_at
                and m.performative not in STEP_PERFORMATIVES
            ),
            key=lambda m: (m.created_at, m.id),
        )
        return history[-history_limit:]

    async def set_status(
        self, project_id: str, message_id: str, status: MessageStatus, error: str = ""
    ) -> Message | None:
        message = await self.get(project_id, message_id)
        if message is None or message.status.is_final:
            return None
        changed = dataclasses.replace(message, status=status, error=error, updated_at=datetime.now(UTC))
        self.messages[message_id] = changed
        return changed

    async def complete_with_reply(self, request: Message, reply: Message) -> Message:
        if self.messages[request.id].status is MessageStatus.CANCELLED:
            raise FailedPrecondition("the message was cancelled")
        stored = self.reply_to(request)
        if stored is None:
            self.messages[reply.id] = stored = reply
        current = self.messages[request.id]
        self.messages[request.id] = dataclasses.replace(
            current, status=MessageStatus.COMPLETE, error="", updated_at=reply.updated_at
        )
        return stored

    async def mark_published(self, project_id: str, message_ids: builtins.list[str], at: datetime) -> None:
        for message_id in message_ids:
            if await self.get(project_id, message_id) is not None:
                self.published_at[message_id] = at

    async def due_for_publish(
        self, unpublished_before: datetime, published_before: datetime, limit: int
    ) -> builtins.list[Message]:
        def due(m: Message) -> bool:
            published = self.published_at.get(m.id)
            if published is None:
                return m.status is MessageStatus.QUEUED and m.created_at < unpublished_before
            return m.status in _UNFINISHED and published < published_before and m.updated_at < published_before

        return sorted(filter(due, self.messages.values()), key=lambda m: m.created_at)[:limit]

    async def with_replies(
        self, project_id: str, message_ids: Sequence[str]
    ) -> builtins.list[tuple[Message, Message | None]]:
        found = [m for m in self._scoped(project_id) if m.id in set(message_ids)]
        return [(m, self.reply_to(m)) for m in found]

    async def delegated_from(self, project_id: str, message_id: str) -> builtins.list[Message]:
        return [
            m
            for m in self._scoped(project_id)
            if m.parent_id == message_id
            and m.performative == "request"
            and m.sender.type is Kind.AGENT
            and not m.status.is_final
        ]

    async def delete_project(self, project_id: str) -> int:
        doomed = [m.id for m in self._scoped(project_id)]
        for message_id in doomed:
            del self.messages[message_id]
            self.published_at.pop(message_id, None)
        self.tools.delete_project(project_id)
        return len(doomed)


class InMemoryMailbox:
    """Mailbox that records posts in order; set `down` to make posts fail."""

    def __init__(self) -> None:
        self.posted: list[Message] = []
        self._ids: set[str] = set()
        self.down = False

    async def post(self, message: Message, dedup_id: str | None = None) -> None:
        if self.down:
            raise Unavailable("message bus unavailable")
        key = dedup_id or message.id
        if key not in self._ids:
            self._ids.add(key)
            self.posted.append(message)

    def take(self) -> list[Message]:
        """Everything posted so far, emptying the mailbox (and, like an expired
        dedup window, forgetting the ids)."""
        taken, self.posted = self.posted, []
        self._ids.clear()
        return taken


class InMemoryConversationEvents:
    """ConversationEvents and ConversationFeed in a list; watchers get events encoded, as stored."""

    def __init__(self) -> None:
        self.events: list[ConversationEvent] = []
        self.opened_conversations: list[tuple[str, str]] = []
        self._dedup: set[str] = set()
        self._changed = asyncio.Condition()

    async def publish(self, event: ConversationEvent, dedup_id: str | None = None) -> None:
        if dedup_id is not None:
            if dedup_id in self._dedup:
                return
            self._dedup.add(dedup_id)
        async with self._changed:
            # Numbered within the conversation, like the real log (never a platform-wide count).
            key = (event.project_id, event.conversation_id)
            number = 1 + sum(1 for e in self.events if (e.project_id, e.conversation_id) == key)
            self.events.append(dataclasses.replace(event, sequence=number))
            self._changed.notify_all()

    def of(self, conversation_id: str) -> list[ConversationEvent]:
        """The stored events of one conversation."""
        return [e for e in self.events if e.conversation_id == conversation_id]

    async def subscribe(self, project_id: str, conversation_id: str, after_sequence: int) -> AsyncIterator[StoredEvent]:
        position = 0  # in the log of every conversation; the numbers are the conversation's own
        while True:
            async with self._changed:
                while len(self.events) <= position:
                    await self._changed.wait()
                fresh = self.events[position:]
            position += len(fresh)
            for event in fresh:
                mine = event.project_id == project_id and event.conversation_id == conversation_id
                if mine and event.sequence > after_sequence:
                    # Stored without its number, like the real log: the number travels beside it.
                    yield StoredEvent(event.sequence, encode_event(dataclasses.replace(event, sequence=0)))

    def opened(self, project_id: str, conversation_id: str) -> None:
        self.opened_conversations.append((project_id, conversation_id))

    async def purge_project(self, project_id: str) -> None:
        # Keep positions stable for watchers; the purged conversations' numbering starts over.
        self.events = [
            e if e.project_id != project_id else dataclasses.replace(e, project_id="", conversation_id="")
            for e in self.events
        ]


class StaticMemory:
    """Memory that returns its first k entries for every search; set `error` to make calls fail."""

    def __init__(self, entries: list[str] | None = None, error: AgentmeshError | None = None) -> None:
        self.entries = list(entries or [])
        self.error = error
        self.queries: list[tuple[str, str, str, int]] = []
        self.looks = 0  # has_entries calls
        self.stored: list[tuple[str, str, str]] = []
        self.stored_keys: dict[tuple[str, str], str] = {}  # (project, idempotency key) -> entry id

    async def search(self, project_id: str, agent_id: str, query: str, k: int) -> list[str]:
        self.queries.append((project_id, agent_id, query, k))
        if self.error is not None:
            raise self.error
        return self.entries[:k]

    async def has_entries(self, project_id: str) -> bool:
        self.looks += 1
        if self.error is not None:
            raise self.error
        return bool(self.entries)

    async def store(self, project_id: str, agent_id: str, content: str, idempotency_key: str = "") -> str:
        """Keep the content (searches return it from then on); `stored` records who stored what.

        A key used before in the project returns the first entry's id and stores nothing, as memory does.
        """
        if self.error is not None:
            raise self.error
        if idempotency_key and (project_id, idempotency_key) in self.stored_keys:
            return self.stored_keys[(project_id, idempotency_key)]
        self.stored.append((project_id, agent_id, content))
        self.entries.append(content)
        entry_id = new_id()
        if idempotency_key:
            self.stored_keys[(project_id, idempotency_key)] = entry_id
        return entry_id
