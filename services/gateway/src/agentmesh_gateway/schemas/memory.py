"""Memory entries and search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, model_validator

from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.values import JsonObject, Text, check_json_value


class DocumentIn(Strict):
    content: Text = Field(min_length=1, max_length=limits.DOCUMENT_MAX_CHARS)
    metadata: JsonObject = Field(default_factory=dict)


class MemoryIn(Strict):
    """Either one `content` or a list of `documents`; `metadata` applies to all.

    The same `idempotency_key` sent again (in the project) returns the first add's
    entries instead of storing them twice: a client may retry an add that failed.
    """

    content: Text | None = Field(default=None, min_length=1, max_length=limits.DOCUMENT_MAX_CHARS)
    documents: list[DocumentIn] | None = Field(default=None, min_length=1, max_length=limits.DOCUMENTS_MAX)
    metadata: JsonObject = Field(default_factory=dict)
    agent_id: UUID | None = None
    idempotency_key: Text | None = Field(default=None, min_length=1, max_length=limits.IDEMPOTENCY_KEY_MAX_LENGTH)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> MemoryIn:
        if (self.content is None) == (self.documents is None):
            raise ValueError("give either 'content' or 'documents'")
        return self

    def as_documents(self) -> list[dict[str, Any]]:
        if self.content is not None:
            return [{"content": self.content, "metadata": self.metadata}]
        return [{"content": d.content, "metadata": {**self.metadata, **d.metadata}} for d in self.documents or []]


class MemoryEntryOut(BaseModel):
    id: str
    project_id: str
    agent_id: str | None
    content: str
    metadata: dict[str, Any]
    embedding_model: str
    created_at: datetime | None


class SearchIn(Strict):
    query: Text = Field(min_length=1, max_length=limits.SEARCH_QUERY_MAX_CHARS)
    k: int = Field(default=limits.SEARCH_K_DEFAULT, ge=1, le=limits.SEARCH_K_MAX)
    agent_id: UUID | None = None
    filter: Annotated[dict[str, str | int | float | bool], AfterValidator(check_json_value)] | None = None


class SearchHitOut(BaseModel):
    id: str
    content: str
    metadata: dict[str, Any]
    score: float
    agent_id: str | None = None
