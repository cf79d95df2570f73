"""Agents, messages and conversation events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# `model_config` is a field name here (the agent's LLM settings), so the Python
# attribute is `llm_config` with the JSON name `model_config`.
_AGENT_CONFIG = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

Topic = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


class AgentIn(BaseModel):
    model_config = _AGENT_CONFIG

    name: str = Field(min_length=1, max_length=100)
    purpose: str = Field(default="", max_length=2000)
    system_prompt: str = Field(default="", max_length=20000)
    llm_config: dict[str, Any] = Field(default_factory=dict, alias="model_config")
    agent_type: str = Field(default="", max_length=100)
    status: Literal["active", "paused"] = "active"
    topics: list[str] = Field(default_factory=list, max_length=50)


class AgentPatch(BaseModel):
    model_config = _AGENT_CONFIG

    name: str | None = Field(default=None, min_length=1, max_length=100)
    purpose: str | None = Field(default=None, max_length=2000)
    system_prompt: str | None = Field(default=None, max_length=20000)
    llm_config: dict[str, Any] | None = Field(default=None, alias="model_config")
    agent_type: str | None = Field(default=None, max_length=100)
    status: Literal["active", "paused"] | None = None
    topics: list[str] | None = Field(default=None, max_length=50)


class AgentOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    id: str
    project_id: str
    name: str
    purpose: str
    system_prompt: str
    llm_config: dict[str, Any] = Field(alias="model_config")
    agent_type: str
    status: str
    topics: list[str]
    created_at: datetime | None
    updated_at: datetime | None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str | dict[str, Any] | list[Any] = Field(description="text, or any JSON object/array")
    conversation_id: UUID | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)


class MessageAccepted(BaseModel):
    message_id: str
    conversation_id: str
    status: str


class Participant(BaseModel):
    type: str
    id: str


class MessageOut(BaseModel):
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
    idempotency_key: str | None
    created_at: datetime | None
    updated_at: datetime | None


MessageStatus = Literal["queued", "delivered", "processing", "complete", "error"]
