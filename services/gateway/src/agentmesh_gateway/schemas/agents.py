"""Agents of a project."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas.enums import AgentStatus
from agentmesh_gateway.schemas.values import JsonObject, Text

# `model_config` is a field name here (the agent's LLM settings), so the Python
# attribute is `llm_config` with the JSON name `model_config`.
_AGENT_CONFIG = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

Topic = Annotated[Text, Field(min_length=1, max_length=limits.TOPIC_MAX_LENGTH, pattern=limits.TOPIC_PATTERN)]


class AgentIn(BaseModel):
    """A new agent."""

    model_config = _AGENT_CONFIG

    name: Text = Field(min_length=1, max_length=limits.AGENT_NAME_MAX_LENGTH)
    purpose: Text = Field(default="", max_length=limits.AGENT_PURPOSE_MAX_LENGTH)
    system_prompt: Text = Field(default="", max_length=limits.SYSTEM_PROMPT_MAX_LENGTH)
    llm_config: JsonObject = Field(default_factory=dict, alias="model_config")
    agent_type: Text = Field(default="", max_length=limits.AGENT_TYPE_MAX_LENGTH)
    status: AgentStatus = "active"
    topics: list[Topic] = Field(default_factory=list, max_length=limits.TOPICS_MAX)


class AgentPatch(BaseModel):
    """The fields to change; absent fields stay as they are."""

    model_config = _AGENT_CONFIG

    name: Text | None = Field(default=None, min_length=1, max_length=limits.AGENT_NAME_MAX_LENGTH)
    purpose: Text | None = Field(default=None, max_length=limits.AGENT_PURPOSE_MAX_LENGTH)
    system_prompt: Text | None = Field(default=None, max_length=limits.SYSTEM_PROMPT_MAX_LENGTH)
    llm_config: JsonObject | None = Field(default=None, alias="model_config")
    agent_type: Text | None = Field(default=None, max_length=limits.AGENT_TYPE_MAX_LENGTH)
    status: AgentStatus | None = None
    topics: list[Topic] | None = Field(default=None, max_length=limits.TOPICS_MAX)

    def changed(self) -> dict[str, Any]:
        """The fields the client set to a value, by JSON name."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)


class AgentOut(BaseModel):
    """An agent as the API shows it."""

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
