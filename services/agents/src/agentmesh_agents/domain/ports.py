"""The narrow interfaces the domain needs from the world; adapters implement them."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.models import Agent, ConversationEvent, Message, MessageFilter, MessageStatus


class AgentRepository(Protocol):
    """Stored agents, always scoped by project."""

    async def add(self, agent: Agent) -> Agent:
        """Store a new agent; AlreadyExists when the name is taken in the project."""

    async def get(self, project_id: str, agent_id: str) -> Agent | None: ...

    async def list(self, project_id: str, offset: int, limit: int) -> list[Agent]:
        """A project's agents by creation time."""

    async def update(self, agent: Agent) -> Agent | None:
        """Replace an agent's fields; None when it is gone, AlreadyExists on a name clash."""

    async def delete(self, project_id: str, agent_id: str) -> bool: ...

    async def delete_project(self, project_id: str) -> int:
        """Remove every agent of a project; returns how many."""


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """What processing a delivery decides on, read in one transaction.

    When the request is missing or already final the other fields are left unset.
    """

    request: Message | None
    agent: Agent | None = None
    answered: bool = False  # a reply to the request is stored
    earlier_id: str | None = None  # an earlier unfinished message to the same agent, recently active


class MessageRepository(Protocol):
    """The message log, always scoped by project."""

    async def add(self, message: Message) -> tuple[Message, bool]:
        """Store a message; on an idempotency key already used returns (the first message, False).

        NotFound when the receiver is an agent the project does not have.
        """

    async def get(self, project_id: str, message_id: str) -> Message | None: ...

    async def list(self, project_id: str, where: MessageFilter, offset: int, limit: int) -> list[Message]:
        """Messages matching the filter, newest first."""

    async def conversation_exists(self, project_id: str, conversation_id: str) -> bool: ...

    async def delivery_state(
        self, project_id: str, agent_id: str, message_id: str, active_since: datetime
    ) -> DeliveryState:
        """The request, its receiving agent, whether it has a reply, and the id of an unfinished
        (queued/processing) message to the same agent created before it and changed since
        `active_since`."""

    # builtins.list from here on: inside the class, `list` is the method above.
    async def begin_processing(self, request: Message, history_limit: int) -> builtins.list[Message]:
        """In one transaction mark the request processing (unless it already is, or is final) and
        return the last `history_limit` complete messages of its conversation created before it,
        oldest first."""

    async def set_status(
        self, project_id: str, message_id: str, status: MessageStatus, error: str = ""
    ) -> Message | None:
        """Change the status (and error text) of a message not yet final; None when gone or final."""

    async def complete_with_reply(self, request: Message, reply: Message) -> Message:
        """In one transaction store the reply and mark the request complete.

        A request has at most one reply: when one exists already, it is returned
        and nothing is written.
        """

    async def mark_published(self, project_id: str, message_id: str, at: datetime) -> None:
        """Record that the message was handed to its mailbox."""

    async def due_for_publish(
        self, unpublished_before: datetime, published_before: datetime, limit: int
    ) -> builtins.list[Message]:
        """Messages to post to their mailbox again: queued ones never posted, created before
        `unpublished_before`; and unfinished ones (queued or processing) last posted and last
        changed before `published_before`, which the mailbox may have lost or given up on."""

    async def delete_project(self, project_id: str) -> int:
        """Remove every message of a project; returns how many."""


class Mailbox(Protocol):
    """Agents' durable mailboxes."""

    async def post(self, message: Message) -> None:
        """Put a message in its receiver's mailbox (deduplicated by message id)."""


class ConversationEvents(Protocol):
    """Where the runtime tells watchers what happens in a conversation."""

    async def publish(self, event: ConversationEvent, dedup_id: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A conversation event as the event log keeps it: watchers get it relayed, never decoded here."""

    sequence: int
    data: bytes


class ConversationFeed(Protocol):
    """The stored stream of conversation events."""

    def subscribe(self, project_id: str, conversation_id: str, after_sequence: int) -> AsyncIterator[StoredEvent]:
        """Events after a sequence number, then live ones, until the caller stops iterating."""

    async def purge_project(self, project_id: str) -> None:
        """Forget every event of a project's conversations."""


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One turn of a chat prompt: role is "system", "user" or "assistant"."""

    role: str
    content: str


class Inference(Protocol):
    """The language model."""

    def stream_chat(self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str) -> AsyncIterator[str]:
        """Generate a reply, yielding text chunks; Unavailable when the model server is down."""


class Memory(Protocol):
    """Project knowledge retrieval."""

    async def search(self, project_id: str, agent_id: str, query: str, k: int) -> list[str]:
        """Contents of the k entries closest to the query, best first."""
