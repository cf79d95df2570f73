"""The things the agents service keeps: agents, messages and conversation events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from agentmesh_core.ids import new_id

if TYPE_CHECKING:
    from agentmesh_agents.domain.tool_models import Approval, ToolCallRecord

# A JSON value: what message content and model configs are made of.
JsonValue = Any

T = TypeVar("T")


def utcnow() -> datetime:
    """The current time, timezone-aware (the default clock)."""
    return datetime.now(UTC)


class AgentStatus(StrEnum):
    """Whether an agent takes new work."""

    ACTIVE = "active"
    PAUSED = "paused"


class MessageStatus(StrEnum):
    """Where a message is in its life."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETE = "complete"
    ERROR = "error"
    # The turn is parked until a human decides on a tool call; no consumer or task waits.
    AWAITING_APPROVAL = "awaiting_approval"
    # The sender (or a project admin) stopped it, and with it the turns it delegated to.
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True once nothing more will happen to the message."""
        return self in (MessageStatus.COMPLETE, MessageStatus.ERROR, MessageStatus.CANCELLED)


class ParticipantType(StrEnum):
    """Kind of party that sends or receives a message."""

    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Participant:
    """A sender or receiver: a user id, an agent id, or a component name."""

    type: ParticipantType
    id: str


@dataclass(frozen=True, slots=True)
class Agent:
    """An AI agent living in a project."""

    id: str
    project_id: str
    name: str
    purpose: str = ""
    system_prompt: str = ""
    model_config: dict[str, JsonValue] = field(default_factory=dict)
    agent_type: str = ""
    status: AgentStatus = AgentStatus.ACTIVE
    topics: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


# The Agent fields a client may change with UpdateAgent.
MUTABLE_AGENT_FIELDS = frozenset({"name", "purpose", "system_prompt", "model_config", "agent_type", "status", "topics"})


REPLY_PERFORMATIVE = "reply"  # an agent's answer to a request
# A turn's steps are in the log too, but are not conversation: a prompt's history leaves them out.
STEP_PERFORMATIVES = ("tool_call", "tool_result")


@dataclass(frozen=True, slots=True)
class Message:
    """One entry of a project's message log."""

    id: str
    project_id: str
    conversation_id: str
    sender: Participant
    receiver: Participant
    content: JsonValue
    performative: str = "request"
    status: MessageStatus = MessageStatus.QUEUED
    error: str = ""
    parent_id: str | None = None
    correlation_id: str | None = None
    idempotency_key: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def reply_from(self, agent_id: str, content: JsonValue, now: datetime) -> Message:
        """An agent's answer to this request, complete, to its sender, in its conversation."""
        return Message(
            id=new_id(),
            project_id=self.project_id,
            conversation_id=self.conversation_id,
            sender=Participant(ParticipantType.AGENT, agent_id),
            receiver=self.sender,
            content=content,
            performative=REPLY_PERFORMATIVE,
            status=MessageStatus.COMPLETE,
            parent_id=self.id,
            correlation_id=self.correlation_id,
            created_at=now,
            updated_at=now,
        )


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """Optional filters of ListMessages; None means "any"."""

    agent_id: str | None = None
    conversation_id: str | None = None
    status: MessageStatus | None = None
    # A conversation left out: the project's monitoring conversation, for callers who are not its admins.
    hidden_conversation_id: str | None = None


class EventType(StrEnum):
    """What happened in a conversation."""

    STATUS = "status"
    TOKEN = "token"
    REPLY = "reply"
    ERROR = "error"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    APPROVAL_REQUIRED = "approval_required"
    APPROVAL_DECIDED = "approval_decided"
    DELEGATED = "delegated"  # the agent asked another agent (delegation holds the message sent)
    DELEGATION_REPLY = "delegation_reply"  # that agent's turn ended (delegation: the message, text: its answer)
    CANCELLED = "cancelled"  # the request was cancelled
    RESET = "reset"
    RECALL_SKIPPED = "recall_skipped"  # project memory was not consulted for the turn (text: why)


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """One event on a conversation's stream; sequence is set by the event log."""

    type: EventType
    project_id: str
    conversation_id: str
    message_id: str
    agent_id: str
    text: str = ""
    reply: Message | None = None
    status: MessageStatus | None = None
    error: str = ""
    created_at: datetime = field(default_factory=utcnow)
    sequence: int = 0
    tool_call: ToolCallRecord | None = None
    approval: Approval | None = None
    delegation: Message | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next ("" at the end)."""

    items: list[T]
    next_cursor: str = ""
