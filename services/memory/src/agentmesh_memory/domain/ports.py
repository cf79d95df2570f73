"""The narrow interfaces the domain needs from the outside world.

Adapters implement them (PostgreSQL, Qdrant, sentence-transformers, the agents
service); unit tests
use the in-memory fakes in adapters/fakes.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from agentmesh_memory.domain.models import MemoryEntry, PriorAdd, ScoredId, VectorPoint, VectorQuery

# Where an entry sits in the newest-first list: (created_at, the store's write sequence).
ListKey = tuple[datetime, int]

Clock = Callable[[], datetime]


class EntryRepository(Protocol):
    """Stored entries, always scoped by project.

    An add's entries are written pending (invisible to get, get_many and list_page)
    and made ready once their vectors are stored.
    """

    async def reserve(self, entries: Sequence[MemoryEntry], idempotency_key: str | None) -> PriorAdd | None:
        """Insert the entries as pending in one transaction, claiming the key in their project.

        When the key was already claimed, inserts nothing and returns that earlier add.
        """
        ...

    async def find_add(self, project_id: str, idempotency_key: str) -> PriorAdd | None:
        """The add that claimed this key in the project, if any (entries in add order)."""
        ...

    async def mark_ready(self, project_id: str, entry_ids: Sequence[str]) -> int:
        """Make pending entries ready; returns how many were there."""
        ...

    async def pending_before(self, cutoff: datetime, limit: int) -> list[MemoryEntry]:
        """Up to limit pending entries of any project created before cutoff, oldest first."""
        ...

    async def abandon(self, project_id: str, entry_ids: Sequence[str]) -> list[str]:
        """Delete those of these entries still pending, and free their adds' keys; returns their ids."""
        ...

    async def get(self, project_id: str, entry_id: str) -> MemoryEntry | None: ...

    async def get_many(self, project_id: str, entry_ids: Sequence[str]) -> list[MemoryEntry]:
        """Those of the ids that exist in the project (any order)."""
        ...

    async def list_page(
        self, project_id: str, agent_id: str | None, before: ListKey | None, limit: int
    ) -> tuple[list[MemoryEntry], ListKey | None]:
        """The project's (or one agent's) entries, newest first (the last written first within one time),
        those after `before` in that order when it is given; and the list key of the last one returned."""
        ...

    async def remove_many(self, project_id: str, entry_ids: Sequence[str]) -> int:
        """Delete these entries; returns how many were there."""
        ...

    async def remove_project(self, project_id: str) -> int:
        """Delete every entry of a project; returns how many."""
        ...


class VectorIndex(Protocol):
    """Entry vectors with their filterable payload (Qdrant)."""

    async def upsert(self, points: Sequence[VectorPoint]) -> None: ...

    async def delete(self, ids: Sequence[str]) -> None:
        """Delete these points; missing ones are fine."""
        ...

    async def delete_project(self, project_id: str) -> None: ...

    async def search(self, query: VectorQuery) -> list[ScoredId]:
        """The closest points, best first."""
        ...


class Tokenizer(Protocol):
    """The embedding model's own tokenizer: what chunk sizes are counted in."""

    @property
    def window(self) -> int:
        """The most tokens of one text the model reads (its special tokens not counted)."""
        ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """The (start, end) character offsets of text's tokens, in order."""
        ...


class Embedder(Protocol):
    """A sentence embedding model; embeds off the event loop."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's tokenizer (chunks are cut to fit its window)."""
        ...

    async def embed(self, texts: Sequence[str], bulk_for: str | None = None) -> list[list[float]]:
        """One normalized vector per text, in order.

        bulk_for names whose bulk work this is (a project's add): bulk work of
        different owners takes turns, and interactive work (None: a search's
        query) goes ahead of it, so one owner's volume cannot starve the others.
        """
        ...


class AgentDirectory(Protocol):
    """Knows which agents exist (the agents service, asked as the current caller)."""

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        """Raise NotFound("agent not found") unless the agent exists in the project."""
        ...
