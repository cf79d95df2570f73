"""The memory service's Prometheus figures, observed around the domain's ports.

Whole add and search calls are timed per RPC by the gRPC telemetry
(`agentmesh_grpc_server_handling_seconds{grpc_method="AddMemories"|"SearchMemories"}`);
these add their two stages and the index's size:

- `agentmesh_memory_embedding_seconds{kind}`: one embed call (`query`: a search's text,
  `bulk`: an add's chunks), and `agentmesh_memory_embedded_texts_total{kind}`;
- `agentmesh_memory_index_seconds{operation}`: vector index `upsert` and `search`;
- `agentmesh_memory_index_entries`: entries ready to be found (read every few seconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Connection, func, select

from agentmesh_core.aio import wait_set
from agentmesh_db.database import Database
from agentmesh_memory.adapters.tables import READY, entries
from agentmesh_memory.domain.models import ScoredId, VectorPoint, VectorQuery
from agentmesh_memory.domain.ports import Embedder, Tokenizer, VectorIndex

log = logging.getLogger(__name__)

# How often IndexSizeGauge counts (a scrape every 15-30 s is usual).
INDEX_SIZE_REFRESH_SECONDS = 10.0
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

EMBEDDING = Histogram(
    "agentmesh_memory_embedding_seconds",
    "Time to embed one call's texts, by kind (query, bulk)",
    ["kind"],
    buckets=_BUCKETS,
)
EMBEDDED = Counter("agentmesh_memory_embedded_texts_total", "Texts embedded, by kind (query, bulk)", ["kind"])
INDEX = Histogram(
    "agentmesh_memory_index_seconds",
    "Time of one vector index operation (upsert, search)",
    ["operation"],
    buckets=_BUCKETS,
)
INDEX_ENTRIES = Gauge("agentmesh_memory_index_entries", "Memory entries ready to be found, all projects")


class ObservedEmbedder:
    """An Embedder whose embed calls are timed and counted."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    @property
    def model_name(self) -> str:
        return self._embedder.model_name

    @property
    def dimension(self) -> int:
        return self._embedder.dimension

    @property
    def tokenizer(self) -> Tokenizer:
        return self._embedder.tokenizer

    async def embed(self, texts: Sequence[str], bulk_for: str | None = None) -> list[list[float]]:
        """Embed as the wrapped embedder does."""
        kind = "query" if bulk_for is None else "bulk"
        started = time.perf_counter()
        try:
            return await self._embedder.embed(texts, bulk_for=bulk_for)
        finally:
            EMBEDDING.labels(kind).observe(time.perf_counter() - started)
            EMBEDDED.labels(kind).inc(len(texts))


class ObservedVectorIndex:
    """A VectorIndex whose upserts and searches are timed."""

    def __init__(self, index: VectorIndex) -> None:
        self._index = index

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        """Store points as the wrapped index does."""
        started = time.perf_counter()
        try:
            await self._index.upsert(points)
        finally:
            INDEX.labels("upsert").observe(time.perf_counter() - started)

    async def delete(self, ids: Sequence[str]) -> None:
        """Delete points as the wrapped index does."""
        await self._index.delete(ids)

    async def delete_project(self, project_id: str) -> None:
        """Delete a project's points as the wrapped index does."""
        await self._index.delete_project(project_id)

    async def search(self, query: VectorQuery) -> list[ScoredId]:
        """Search as the wrapped index does."""
        started = time.perf_counter()
        try:
            return await self._index.search(query)
        finally:
            INDEX.labels("search").observe(time.perf_counter() - started)


async def count_index_entries(db: Database, stop: asyncio.Event, interval: float) -> None:
    """Keep `agentmesh_memory_index_entries` current until stop; a failed count is retried next time."""
    while not stop.is_set():
        try:
            INDEX_ENTRIES.set(await db.run(_count_ready))
        except Exception as error:  # noqa: BLE001 - figures are best effort; serving is not
            log.warning("could not count the memory entries (%s)", type(error).__name__)
        await wait_set(stop, interval)


def _count_ready(connection: Connection) -> int:
    return int(
        connection.execute(select(func.count()).select_from(entries).where(entries.c.state == READY)).scalar_one()
    )
