"""Publishing to a project topic: one message to each subscribed agent."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas.messages import Content
from agentmesh_gateway.schemas.values import Text

# The agents service's topic rule (the same as for an agent's `topics`).
TopicName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=limits.TOPIC_MAX_LENGTH,
        pattern=limits.TOPIC_PATTERN,
        description="letters, digits, '_', '-' or '.', as in an agent's topics",
    ),
]


class TopicMessageIn(BaseModel):
    """A message for every agent subscribed to the topic."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"content": "Your part of today's report, please."}}
    )

    content: Content = Field(description="text, or any JSON object/array")
    idempotency_key: Text | None = Field(
        default=None,
        min_length=1,
        max_length=limits.IDEMPOTENCY_KEY_MAX_LENGTH,
        description="the same key (for the same topic) again returns the first publish's messages",
    )


class TopicDelivery(BaseModel):
    """The message one subscriber got (queued in its mailbox), in a conversation of its own."""

    message_id: str
    agent_id: str
    conversation_id: str
    status: str


class TopicPublished(BaseModel):
    """What a publish delivered: one message per subscriber (none when nobody subscribes)."""

    topic: str
    message_ids: list[str]
    deliveries: list[TopicDelivery]
