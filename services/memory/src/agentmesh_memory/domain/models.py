"""The memory service's domain objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# A JSON object as decoded by json.loads (metadata, filters).
JsonObject = dict[str, Any]
# What an exact-match filter may compare a metadata value with.
Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class MemoryEntry:
    """One stored chunk of knowledge; its id is also its vector's id."""

    id: str
    project_id: str
    agent_id: str | None
    content: str
    metadata: JsonObject
    embedding_model: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PriorAdd:
    """The entries of an earlier add with the same idempotency key.

    complete: its vectors are stored (the entries are ready); False while it runs, or
    after it was cut short (a crash), when a retry finishes it.
    """

    entries: list[MemoryEntry]
    complete: bool


@dataclass(frozen=True, slots=True)
class Document:
    """A text to remember, with metadata copied onto each of its chunks."""

    content: str
    metadata: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VectorPoint:
    """What the vector index stores for one entry."""

    id: str
    vector: list[float]
    project_id: str
    agent_id: str | None
    metadata: JsonObject


@dataclass(frozen=True, slots=True)
class VectorQuery:
    """A nearest-neighbour query, always scoped to one project.

    agent_id set: that agent's entries and project-wide ones; None: all of the project's.
    """

    project_id: str
    vector: list[float]
    limit: int
    agent_id: str | None = None
    metadata_equals: dict[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScoredId:
    """An index hit: entry id and cosine similarity."""

    id: str
    score: float


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A search result: the entry and its cosine similarity (higher is closer)."""

    entry: MemoryEntry
    score: float
