"""In-memory stand-ins for the ports, for unit and service tests.

They keep the real adapters' semantics (project scoping, newest-first order,
cosine scores, the agent/metadata filter) so tests over them mean something.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from datetime import datetime

from agentmesh_core.errors import NotFound
from agentmesh_memory.domain.models import MemoryEntry, PriorAdd, ScoredId, VectorPoint, VectorQuery
from agentmesh_memory.domain.ports import ListKey


class KnownAgents:
    """The agents service as a set of (project, agent) pairs; `add` registers one."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        self.pairs: set[tuple[str, str]] = set(pairs)

    def add(self, project_id: str, agent_id: str) -> None:
        self.pairs.add((project_id, agent_id))

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        if (project_id, agent_id) not in self.pairs:
            raise NotFound("agent not found")


class InMemoryEntryRepository:
    """Entries in a dict, in insertion order; pending ones are hidden from reads, as in PostgreSQL."""

    def __init__(self) -> None:
        self.entries: dict[str, MemoryEntry] = {}
        self.pending: set[str] = set()
        self.keys: dict[tuple[str, str], list[str]] = {}  # (project, key) -> the add's entry ids
        self._seq: dict[str, int] = {}
        self._next = 0
        self.fail_next_add: Exception | None = None

    async def reserve(self, items: Sequence[MemoryEntry], idempotency_key: str | None) -> PriorAdd | None:
        if self.fail_next_add is not None:
            error, self.fail_next_add = self.fail_next_add, None
            raise error
        if not items:
            return None
        if idempotency_key is not None:
            claim = (items[0].project_id, idempotency_key)
            if claim in self.keys:
                return self._prior(claim)
            self.keys[claim] = [e.id for e in items]
        for entry in items:
            self.entries[entry.id] = entry
            self.pending.add(entry.id)
            self._seq[entry.id] = self._next
            self._next += 1
        return None

    async def find_add(self, project_id: str, idempotency_key: str) -> PriorAdd | None:
        claim = (project_id, idempotency_key)
        return self._prior(claim) if claim in self.keys else None

    def _prior(self, claim: tuple[str, str]) -> PriorAdd:
        ids = [i for i in self.keys[claim] if i in self.entries]
        return PriorAdd([self.entries[i] for i in ids], complete=not any(i in self.pending for i in ids))

    async def mark_ready(self, project_id: str, entry_ids: Sequence[str]) -> int:
        made = [i for i in entry_ids if i in self.pending and self.entries[i].project_id == project_id]
        self.pending.difference_update(made)
        return len(made)

    async def pending_before(self, cutoff: datetime, limit: int) -> list[MemoryEntry]:
        old = [self.entries[i] for i in self.pending if self.entries[i].created_at < cutoff]
        return sorted(old, key=lambda e: (e.created_at, self._seq[e.id]))[:limit]

    async def abandon(self, project_id: str, entry_ids: Sequence[str]) -> list[str]:
        gone = [i for i in dict.fromkeys(entry_ids) if i in self.pending and self.entries[i].project_id == project_id]
        for entry_id in gone:
            del self.entries[entry_id]
            self.pending.discard(entry_id)
        for claim in [c for c, ids in self.keys.items() if c[0] == project_id and set(gone).intersection(ids)]:
            del self.keys[claim]
        return gone

    async def get(self, project_id: str, entry_id: str) -> MemoryEntry | None:
        entry = self.entries.get(entry_id)
        visible = entry is not None and entry.project_id == project_id and entry_id not in self.pending
        return entry if visible else None

    async def get_many(self, project_id: str, entry_ids: Sequence[str]) -> list[MemoryEntry]:
        return [e for i in entry_ids if (e := await self.get(project_id, i)) is not None]

    async def list_page(
        self, project_id: str, agent_id: str | None, before: ListKey | None, limit: int
    ) -> tuple[list[MemoryEntry], ListKey | None]:
        keyed = [
            ((e.created_at, self._seq[e.id]), e)
            for e in self.entries.values()
            if e.project_id == project_id and e.id not in self.pending and (agent_id is None or e.agent_id == agent_id)
        ]
        older = (row for row in keyed if before is None or row[0] < before)
        page = sorted(older, key=lambda row: row[0], reverse=True)[:limit]
        return [e for _, e in page], page[-1][0] if page else None

    async def remove_many(self, project_id: str, entry_ids: Sequence[str]) -> int:
        removed = 0
        for entry_id in entry_ids:
            if await self.get(project_id, entry_id) is not None:
                del self.entries[entry_id]
                removed += 1
        return removed

    async def remove_project(self, project_id: str) -> int:
        ids = [e.id for e in self.entries.values() if e.project_id == project_id]
        for entry_id in ids:
            del self.entries[entry_id]
            self.pending.discard(entry_id)
        for claim in [c for c in self.keys if c[0] == project_id]:
            del self.keys[claim]
        return len(ids)


class InMemoryVectorIndex:
    """Brute-force cosine search over points in a dict."""

    def __init__(self) -> None:
        self.points: dict[str, VectorPoint] = {}
        self.fail_next_upsert: Exception | None = None

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        if self.fail_next_upsert is not None:
            error, self.fail_next_upsert = self.fail_next_upsert, None
            # Fail half-way, as a real batch might.
            for point in points[: len(points) // 2]:
                self.points[point.id] = point
            raise error
        for point in points:
            self.points[point.id] = point

    async def delete(self, ids: Sequence[str]) -> None:
        for point_id in ids:
            self.points.pop(point_id, None)

    async def delete_project(self, project_id: str) -> None:
        for point_id in [p.id for p in self.points.values() if p.project_id == project_id]:
            del self.points[point_id]

    async def search(self, query: VectorQuery) -> list[ScoredId]:
        hits = [
            ScoredId(id=p.id, score=_cosine(query.vector, p.vector)) for p in self.points.values() if _matches(p, query)
        ]
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[: query.limit]


def _matches(point: VectorPoint, query: VectorQuery) -> bool:
    if point.project_id != query.project_id:
        return False
    if query.agent_id is not None and point.agent_id not in (None, query.agent_id):
        return False
    return all(
        key in point.metadata and _matches_value(point.metadata[key], value)
        for key, value in query.metadata_equals.items()
    )


def _matches_value(stored: object, wanted: object) -> bool:
    # As in Qdrant: a list matches when one of its items does.
    if isinstance(stored, list):
        return any(_equal(item, wanted) for item in stored)
    return _equal(stored, wanted)


def _equal(stored: object, wanted: object) -> bool:
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return type(stored) is type(wanted) and stored == wanted
    return stored == wanted


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class WordTokenizer:
    """Words and punctuation marks as tokens (a stand-in for a model's subword tokenizer)."""

    _TOKEN = re.compile(r"\w+|[^\w\s]")

    def __init__(self, window: int = 254) -> None:
        self._window = window

    @property
    def window(self) -> int:
        return self._window

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [match.span() for match in self._TOKEN.finditer(text)]


class HashingEmbedder:
    """A deterministic bag-of-words embedder: texts sharing words are close."""

    def __init__(self, dimension: int = 64, model_name: str = "fake-hashing", window: int = 254) -> None:
        self._dimension = dimension
        self._model_name = model_name
        self._tokenizer = WordTokenizer(window)
        self.calls: list[list[str]] = []
        self.owners: list[str | None] = []  # each call's bulk_for

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def tokenizer(self) -> WordTokenizer:
        return self._tokenizer

    async def embed(self, texts: Sequence[str], bulk_for: str | None = None) -> list[list[float]]:
        self.calls.append(list(texts))
        self.owners.append(bulk_for)
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self._dimension
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.sha256(word.encode()).digest()
            vector[int.from_bytes(digest[:4], "big") % self._dimension] += 1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector]
