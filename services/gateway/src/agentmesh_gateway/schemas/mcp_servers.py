"""MCP servers: registered by Superadmins; header values go in and never come back out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agentmesh_gateway.schemas.values import Text, check_json_value, check_text_value

# The agents service's own rules (domain/mcp_servers.py), restated so bad input stops here.
MCP_SERVER_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
MCP_URL_MAX_LENGTH = 2048
MCP_MAX_HEADERS = 16
MCP_HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$"
MCP_HEADER_VALUE_MAX_LENGTH = 4096

ServerName = Annotated[
    str, Field(min_length=1, max_length=32, pattern=MCP_SERVER_NAME_PATTERN), AfterValidator(check_text_value)
]
HeaderName = Annotated[str, Field(pattern=MCP_HEADER_NAME_PATTERN), AfterValidator(check_text_value)]
# One line: a CR or LF in a header value would let a value smuggle in another header.
HeaderValue = Annotated[Text, Field(max_length=MCP_HEADER_VALUE_MAX_LENGTH, pattern=r"^[^\r\n]*$")]


class McpServerIn(BaseModel):
    """An MCP server (streamable HTTP) to register; its tools join the catalog as <name>.<tool>."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "search", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "…"}}]
        },
    )

    name: ServerName
    url: Annotated[Text, Field(min_length=8, max_length=MCP_URL_MAX_LENGTH, pattern=r"^https?://")]
    headers: Annotated[dict[HeaderName, HeaderValue], AfterValidator(check_json_value)] | None = Field(
        default=None, max_length=MCP_MAX_HEADERS, description="sent on every request; stored encrypted, never returned"
    )


class McpServerOut(BaseModel):
    """A registered MCP server: the names of its headers, never their values."""

    name: str
    url: str
    header_names: list[str]
    tool_count: int
    created_at: datetime | None
    refreshed_at: datetime | None


class McpRefreshOut(BaseModel):
    """An MCP server after its tools were read again, and their catalog names."""

    server: McpServerOut
    tools: list[str]
