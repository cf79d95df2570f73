"""HTTP shapes of project API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.values import Text, UtcDatetime


class ApiKeyIn(Strict):
    """`POST /projects/{p}/api-keys`."""

    name: Text = Field(min_length=1, max_length=100)
    expires_at: UtcDatetime | None = Field(None, description="none: the key never expires")


class ApiKeyOut(BaseModel):
    """A key as lists show it: never its secret, only the prefix."""

    id: str
    name: str
    prefix: str
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    """A new key, with its secret: shown this once, never again."""

    key: str
