"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A list answer: items plus the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = None


class Strict(BaseModel):
    """Request bodies reject unknown fields, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
