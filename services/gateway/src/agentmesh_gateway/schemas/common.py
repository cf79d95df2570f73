"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict

from agentmesh_core.pagination import MAX_PAGE_SIZE

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A list answer: items plus the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = None


class Strict(BaseModel):
    """Request bodies reject unknown fields, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


# The services clamp page sizes to the same MAX_PAGE_SIZE; the gateway refuses more (422).
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
