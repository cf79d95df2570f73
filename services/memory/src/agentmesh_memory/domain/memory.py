"""The memory service's use cases: add, list, delete, search and embed.

Every project use case checks scope first (reads and adds need membership,
deletes need project admin), so isolation does not rest on the gateway alone;
an entry's agent must be an agent of the same project (asked of the agents
service, as the caller).
An entry's row and its vector are kept consistent: an add's rows are written
`pending` (invisible) in one transaction, then the vectors (upserted by the
entry ids, so writing them twice is harmless), then the rows are made `ready`. A
failure on the way removes both again; a crash leaves pending rows, which a
retry with the add's idempotency key finishes, and which the sweep
(`sweep_pending`, at start-up and then periodically) otherwise removes with any
vectors. An idempotency key names an add within its project: the same key again
returns the first add's entries and stores nothing. Writes run to the end even
when the caller goes away (a cancelled call), so a cancellation never leaves
half of them done. Adds and searches are admitted per
project (domain/admission.py) after the request is checked and before any work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from agentmesh_core.errors import InvalidInput, NotFound, Unavailable
from agentmesh_core.identity import Identity, project_in_scope
from agentmesh_core.ids import new_id, parse_id
from agentmesh_core.json_values import json_size
from agentmesh_core.pagination import decode_keyset, encode_keyset, page_size
from agentmesh_memory.domain import limits as check
from agentmesh_memory.domain.admission import ProjectAdmission, Unlimited
from agentmesh_memory.domain.chunking import chunk_text
from agentmesh_memory.domain.limits import Limits
from agentmesh_memory.domain.models import (
    Document,
    JsonObject,
    MemoryEntry,
    PriorAdd,
    SearchHit,
    VectorPoint,
    VectorQuery,
)
from agentmesh_memory.domain.ports import (
    AgentDirectory,
    Clock,
    Embedder,
    EntryRepository,
    ListKey,
    Tokenizer,
    VectorIndex,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class Memory:
    """Project memory on behalf of an identified caller."""

    def __init__(
        self,
        repository: EntryRepository,
        index: VectorIndex,
        embedder: Embedder,
        agents: AgentDirectory,
        limits: Limits | None = None,
        clock: Clock = utc_now,
        admission: ProjectAdmission | None = None,
    ) -> None:
        self._repository = repository
        self._index = index
        self._embedder = embedder
        self._agents = agents
        self._limits = limits or Limits()
        self._clock = clock
        self._admission = admission or Unlimited()

    @property
    def model_name(self) -> str:
        """The embedding model's name."""
        return self._embedder.model_name

    async def add(
        self,
        identity: Identity,
        project_id: str,
        agent_id: str,
        documents: Sequence[Document],
        idempotency_key: str = "",
    ) -> list[MemoryEntry]:
        """Chunk, embed and store documents; the entries in document and chunk order.

        NotFound when `agent_id` names no agent of the project (checked last, before any write).
        The project's limits admit the add first (ResourceExhausted otherwise), before any
        other work: a refused add costs no validation, chunking or embedding. With an
        idempotency key already used in the project, the first add's entries (finished
        first if that add was cut short).
        """
        project_id = project_in_scope(identity, project_id, admin=False)
        with self._admission.adding(project_id):
            return await self._add(project_id, agent_id, documents, check.idempotency_key(idempotency_key))

    async def _add(
        self, project_id: str, agent_id: str, documents: Sequence[Document], key: str | None
    ) -> list[MemoryEntry]:
        owner = _optional_id(agent_id, "agent_id")
        check.documents(documents, self._limits)
        # Tokenizing for the chunk cuts takes ~1 ms per 1,000 characters: off the event loop.
        chunks = await asyncio.to_thread(_chunk_documents, documents, self._embedder.tokenizer)
        size = sum(len(content.encode()) + json_size(metadata) for content, metadata in chunks)
        if size > self._limits.max_add_bytes:
            raise InvalidInput("documents too large for one call; send fewer or smaller documents")
        if owner is not None:
            await self._agents.require_agent(project_id, owner)
        if key is not None and (prior := await self._repository.find_add(project_id, key)) is not None:
            return await self._repeat(project_id, prior)

        # Bulk work: the embedder gives it turns by project, after any waiting search.
        vectors = await self._embedder.embed([content for content, _ in chunks], bulk_for=project_id)
        now = self._clock()  # after embedding: a pending row's age counts from its write
        entries = [
            MemoryEntry(
                id=new_id(),
                project_id=project_id,
                agent_id=owner,
                content=content,
                metadata=metadata,
                embedding_model=self._embedder.model_name,
                created_at=now,
            )
            for content, metadata in chunks
        ]
        stored = await _to_the_end(self._store(project_id, entries, vectors, key))
        log.info("added %d memory entries from %d documents", len(stored), len(documents))
        return stored

    async def _store(
        self, project_id: str, entries: list[MemoryEntry], vectors: list[list[float]], key: str | None
    ) -> list[MemoryEntry]:
        prior = await self._repository.reserve(entries, key)
        if prior is not None:  # an add with the same key claimed it meanwhile
            return await self._repeat(project_id, prior)
        try:
            await self._make_ready(project_id, entries, vectors)
        except BaseException:
            await self._roll_back(project_id, [e.id for e in entries])
            raise
        return entries

    async def _repeat(self, project_id: str, prior: PriorAdd) -> list[MemoryEntry]:
        """An earlier add with the same key: its entries, once it is complete.

        One still pending is running elsewhere or was cut short by a crash: writing its
        vectors again (same ids) and marking it ready is harmless in the first case and
        finishes it in the second.
        """
        if not prior.complete:
            log.info("finishing an earlier add of %d entries with the same idempotency key", len(prior.entries))
            vectors = await self._embedder.embed([e.content for e in prior.entries], bulk_for=project_id)
            await _to_the_end(self._make_ready(project_id, prior.entries, vectors))
        return prior.entries

    async def _make_ready(self, project_id: str, entries: list[MemoryEntry], vectors: list[list[float]]) -> None:
        points = [
            VectorPoint(id=e.id, vector=v, project_id=project_id, agent_id=e.agent_id, metadata=e.metadata)
            for e, v in zip(entries, vectors, strict=True)
        ]
        await self._index.upsert(points)
        ids = [e.id for e in entries]
        made = await self._repository.mark_ready(project_id, ids)
        # Fewer made ready here: a concurrent add with the same key did it (fine), or the
        # sweep removed them as cut short (then this add must not be acknowledged).
        if made < len(ids):
            present = {e.id for e in await self._repository.get_many(project_id, ids)}
            if missing := [i for i in ids if i not in present]:
                await self._index.delete(missing)  # their rows are gone: so go the vectors just written
                raise Unavailable("the memory add was interrupted; retry it")

    async def sweep_pending(self, older_than: timedelta, batch: int = 500) -> int:
        """Remove the entries of adds cut short (pending for longer than older_than) and their vectors.

        Service maintenance (no caller): run at start-up and periodically. older_than must
        exceed the time an add takes from its rows to its vectors, so that adds still
        running on other replicas are left alone. Returns how many entries went.
        """
        cutoff = self._clock() - older_than
        removed = 0
        while stale := await self._repository.pending_before(cutoff, batch):
            for project_id, ids in _ids_by_project(stale).items():
                gone = await self._repository.abandon(project_id, ids)
                await self._index.delete(gone)
                removed += len(gone)
        if removed:
            log.warning("removed %d memory entries of adds that were cut short", removed)
        return removed

    async def list_page(
        self, identity: Identity, project_id: str, agent_id: str, requested_size: int, cursor: str
    ) -> tuple[list[MemoryEntry], str]:
        """A page of entries, newest first, and the next cursor."""
        project_id = project_in_scope(identity, project_id, admin=False)
        owner = _optional_id(agent_id, "agent_id")
        limit = page_size(requested_size)
        items, last = await self._repository.list_page(project_id, owner, _list_key(cursor), limit)
        return items, _list_cursor(last) if last is not None and len(items) == limit else ""

    async def delete(self, identity: Identity, project_id: str, memory_id: str) -> None:
        """Delete one entry: its vector first, then its row (a retry finishes a partial delete)."""
        project_id = project_in_scope(identity, project_id, admin=True)
        entry = await self._repository.get(project_id, parse_id(memory_id, "memory_id"))
        if entry is None:
            raise NotFound("memory entry not found")
        await _to_the_end(self._remove(project_id, entry.id))
        log.info("deleted memory entry %s", entry.id)

    async def _remove(self, project_id: str, entry_id: str) -> None:
        await self._index.delete([entry_id])
        await self._repository.remove_many(project_id, [entry_id])

    async def search(
        self,
        identity: Identity,
        project_id: str,
        query: str,
        k: int,
        agent_id: str,
        metadata_filter: JsonObject,
    ) -> list[SearchHit]:
        """The k entries closest to the query, best first."""
        project_id = project_in_scope(identity, project_id, admin=False)
        text = check.query(query, self._limits)
        limit = check.k(k, self._limits)
        owner = _optional_id(agent_id, "agent_id")
        conditions = check.metadata_filter(metadata_filter, self._limits)
        self._admission.searching(project_id)
        [vector] = await self._embedder.embed([text])
        scored = await self._index.search(
            VectorQuery(project_id=project_id, vector=vector, limit=limit, agent_id=owner, metadata_equals=conditions)
        )
        if not scored:
            return []
        # The rows are the truth: a vector whose row is missing or still pending (an
        # add running or cut short) is skipped.
        entries = {e.id: e for e in await self._repository.get_many(project_id, [s.id for s in scored])}
        return [SearchHit(entry=entries[s.id], score=s.score) for s in scored if s.id in entries]

    async def embed(self, identity: Identity, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts for any identified caller (no project data is touched)."""
        check.embed_texts(texts, self._limits)
        # Bulk as far as fairness goes: it takes turns with adds, per calling subject.
        return await self._embedder.embed(list(texts), bulk_for=f"caller:{identity.subject}")

    async def delete_project(self, identity: Identity, project_id: str) -> int:
        """Remove every entry and vector of a project; safe to repeat."""
        project_id = project_in_scope(identity, project_id, admin=True)
        removed = await _to_the_end(self._remove_project(project_id))
        log.info("removed %d memory entries of project %s", removed, project_id)
        return removed

    async def _remove_project(self, project_id: str) -> int:
        await self._index.delete_project(project_id)
        return await self._repository.remove_project(project_id)

    async def _roll_back(self, project_id: str, ids: list[str]) -> None:
        # The upsert may have reached Qdrant before failing: remove both sides, the rows
        # first and only those still pending (a retry with the same key may have finished
        # them meanwhile: their vectors stay). What cannot be removed now stays pending,
        # invisible, until the sweep removes it; a vector left without its row is never shown.
        try:
            gone = await self._repository.abandon(project_id, ids)
            await self._index.delete(gone)
        except Exception:
            log.warning(
                "could not roll back %d memory entries after a failed add; the sweep will", len(ids), exc_info=True
            )


# Writes whose callers went away, held here until they finish (the loop keeps only weak references).
_finishing: set[asyncio.Future[Any]] = set()


async def _to_the_end(work: Awaitable[T]) -> T:
    """Await work; if the caller is cancelled, let it finish in the background anyway."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        _finishing.add(task)
        task.add_done_callback(_finished_in_background)
        raise


def _finished_in_background(task: asyncio.Future[Any]) -> None:
    _finishing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("a memory write failed after its caller went away", exc_info=task.exception())


def _ids_by_project(entries: Sequence[MemoryEntry]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for entry in entries:
        grouped.setdefault(entry.project_id, []).append(entry.id)
    return grouped


_MAX_SEQ = 2**63 - 1  # PostgreSQL bigint


def _list_cursor(key: ListKey) -> str:
    """A keyset cursor that resumes the entry list after the entry at `key`."""
    return encode_keyset(key[0].isoformat(), str(key[1]))


def _list_key(cursor: str) -> ListKey | None:
    """The list key a _list_cursor cursor resumes after; None for the first page."""
    key = decode_keyset(cursor, 2)
    if key is None:
        return None
    try:
        at, seq = datetime.fromisoformat(key[0]), int(key[1])
    except ValueError:
        raise InvalidInput("invalid cursor") from None
    if at.tzinfo is None or not 0 <= seq <= _MAX_SEQ:
        raise InvalidInput("invalid cursor")
    return at, seq


def _optional_id(value: str, what: str) -> str | None:
    return parse_id(value, what) if value else None


def _chunk_documents(documents: Sequence[Document], tokenizer: Tokenizer) -> list[tuple[str, JsonObject]]:
    return [chunk for doc in documents for chunk in _chunks(doc, tokenizer)]


def _chunks(doc: Document, tokenizer: Tokenizer) -> list[tuple[str, JsonObject]]:
    """A document's chunks (cut to the model's window) with their metadata (chunk position added when split)."""
    pieces = chunk_text(doc.content, tokenizer)
    if len(pieces) == 1:
        return [(pieces[0], dict(doc.metadata))]
    return [
        (piece, {**doc.metadata, "chunk_index": index, "chunk_count": len(pieces)})
        for index, piece in enumerate(pieces)
    ]
