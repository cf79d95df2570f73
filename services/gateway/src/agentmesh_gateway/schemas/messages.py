"""Messages to agents, the message log, and conversation events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agentmesh_gateway.schemas.approvals import ApprovalOut
from agentmesh_gateway.schemas.enums import EventType, MessageStatus
from agentmesh_gateway.schemas.limits import IDEMPOTENCY_KEY_MAX_LENGTH
from agentmesh_gateway.schemas.tools import ToolCallOut
from agentmesh_gateway.schemas.values import Text, check_json_value

# Text or structured content, under the free-form JSON rule (a string is JSON too).
Content = Annotated[str | dict[str, Any] | list[Any], AfterValidator(check_json_value)]


class MessageIn(BaseModel):
    """A message from the caller to an agent."""

    model_config = ConfigDict(extra="forbid")

    content: Content = Field(description="text, or any JSON object/array")
    conversation_id: UUID | None = Field(default=None, description="continue this conversation (else a new one)")
    idempotency_key: Text | None = Field(default=None, min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)


class MessageAccepted(BaseModel):
    """The message is queued in the agent's mailbox."""

    message_id: str
    conversation_id: str
    status: str


class Participant(BaseModel):
    """A sender or receiver: type user, agent or system, and its id."""

    type: str
    id: str


class MessageOut(BaseModel):
    """One message of the log."""

    id: str
    project_id: str
    conversation_id: str
    sender: Participant
    receiver: Participant
    content: Any
    performative: str
    status: str
    error: str | None
    parent_id: str | None
    correlation_id: str | None
    created_at: datetime | None
    updated_at: datetime | None


class MessageFilter(BaseModel):
    """Filters of the message log (empty = any)."""

    agent_id: str = ""
    conversation_id: str = ""
    status: MessageStatus | None = None


class ConversationEventOut(BaseModel):
    """One event of a conversation; `sequence` orders them and resumes streams.

    A `reset` event says the message's turn restarts (a dependency went away
    mid-answer, or the runtime restarted): drop the token text received so far
    for its message_id; the retried tokens follow. A `recall_skipped` event says
    the turn goes on without project memory (`text`: why, e.g. `deadline_exceeded`
    or `unavailable`).
    """

    sequence: int
    type: EventType
    conversation_id: str
    message_id: str = ""
    agent_id: str = ""
    created_at: datetime | None = None
    text: str | None = Field(
        default=None, description="token events: the new text; tool_result: the observation; recall_skipped: why"
    )
    reply: MessageOut | None = Field(default=None, description="reply events: the reply message")
    status: MessageStatus | None = Field(default=None, description="status events: the message's new status")
    error: str | None = Field(default=None, description="error events: what went wrong")
    tool_call: ToolCallOut | None = Field(default=None, description="tool_call and tool_result events: the call")
    approval: ApprovalOut | None = Field(
        default=None, description="approval_required and approval_decided events: the approval"
    )
    delegation: MessageOut | None = Field(
        default=None,
        description="delegated and delegation_reply events: the message one agent sent another "
        "(delegation_reply: `text` is its answer, or what went wrong)",
    )
