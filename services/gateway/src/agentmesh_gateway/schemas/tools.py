"""The tool catalog, agents' grants and the tool-call audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas.enums import ToolKind
from agentmesh_gateway.schemas.values import JsonObject, Text, check_text_value

# The pattern before the Text rule, so that OpenAPI shows it (the pattern admits no NUL anyway).
ToolName = Annotated[
    str,
    Field(min_length=1, max_length=limits.TOOL_NAME_MAX_LENGTH, pattern=limits.TOOL_NAME_PATTERN),
    AfterValidator(check_text_value),
]
Description = Annotated[Text, Field(min_length=1, max_length=limits.TOOL_DESCRIPTION_MAX_LENGTH)]


class ToolIn(BaseModel):
    """A tool added to the catalog (builtin tools come with the service and are never created)."""

    model_config = ConfigDict(extra="forbid")

    name: ToolName
    description: Description
    parameters: JsonObject = Field(description="JSON Schema of the arguments (an object schema)")
    kind: ToolKind = "mcp"
    enabled: bool = Field(default=True, strict=True)
    restricted: bool = Field(default=False, strict=True)
    requires_approval: bool = Field(default=False, strict=True)


class ToolPatch(BaseModel):
    """The fields to change; a builtin tool takes only enabled, restricted and requires_approval."""

    model_config = ConfigDict(extra="forbid")

    description: Description | None = None
    parameters: JsonObject | None = None
    enabled: bool | None = Field(default=None, strict=True)
    restricted: bool | None = Field(default=None, strict=True)
    requires_approval: bool | None = Field(default=None, strict=True)

    def changed(self) -> dict[str, Any]:
        """The fields the client set to a value."""
        return self.model_dump(exclude_unset=True, exclude_none=True)


class ToolOut(BaseModel):
    """A catalog entry."""

    name: str
    description: str
    parameters: dict[str, Any]
    kind: str
    enabled: bool
    restricted: bool
    requires_approval: bool
    created_at: datetime | None
    updated_at: datetime | None


class GrantIn(BaseModel):
    """A tool granted to an agent."""

    model_config = ConfigDict(extra="forbid")

    name: ToolName
    config: JsonObject = Field(default_factory=dict, description="per-grant settings, checked by the tool")
    requires_approval: bool | None = Field(
        default=None, strict=True, description="overrides the tool's requires_approval; null keeps it"
    )


class GrantOut(BaseModel):
    """A grant, with its catalog entry."""

    name: str
    config: dict[str, Any]
    requires_approval: bool | None
    last_used: datetime | None
    tool: ToolOut


class ToolCallOut(BaseModel):
    """One tool call of the audit, allowed or refused."""

    id: str
    agent_id: str
    message_id: str
    tool: str
    arguments: dict[str, Any]
    outcome: str = Field(description="allowed, refused, error, denied, expired or pending")
    duration_ms: int
    error: str | None
    step: int
    created_at: datetime | None
