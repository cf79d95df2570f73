"""VectorIndex on Qdrant's own engine in-process (qdrant-edge): the local default.

One shard directory, held by one process (its write-ahead log is locked while
open). Payload indexes on `project_id` (a tenant index: the shard keeps each
project's points together) and `agent_id`, so a search filtered by project reads
that project's points through the index instead of every point in the shard.

The shard is never optimize()d: qdrant-edge 0.9 builds HNSW inside that call and
holds the GIL all along (measured here: 26 s frozen for 20,000 points, every
other thread of the process stopped with it). Segments stay plain, so a search
costs time in proportion to the points of the one project it is filtered to:
~0.5 ms for a 5,000-entry project in a 100,000-entry shard, ~12 ms when one
project holds all 100,000 (bench/bench_memory.py).

The shard is used from one dedicated thread, like qdrant-client's local mode
before it: its calls hold the GIL, so more threads would not run them faster.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    KeywordIndexParams,
    MatchValue,
    PayloadSchemaType,
    Point,
    Query,
    QueryRequest,
    RangeFloat,
    UpdateOperation,
)

from agentmesh_core.errors import Unavailable
from agentmesh_memory.domain.models import Scalar, ScoredId, VectorPoint, VectorQuery

if TYPE_CHECKING:
    from qdrant_edge import ConditionType

log = logging.getLogger(__name__)
T = TypeVar("T")

_UPSERT_BATCH = 256
_PAYLOAD_INDEXES: dict[str, KeywordIndexParams | PayloadSchemaType] = {
    "project_id": KeywordIndexParams(is_tenant=True),
    "agent_id": PayloadSchemaType.Keyword,
}


def _payload(point: VectorPoint) -> dict[str, object]:
    return {"project_id": point.project_id, "agent_id": point.agent_id or "", "metadata": point.metadata}


def _match(key: str, value: Scalar) -> FieldCondition:
    if isinstance(value, bool):
        # The binding reads a Python bool as an integer (True matches 1, not true);
        # numpy's bool reaches the engine as a boolean.
        return FieldCondition(key, match=MatchValue(np.bool_(value)))  # type: ignore[arg-type]
    if isinstance(value, float):
        return FieldCondition(key, range=RangeFloat(gte=value, lte=value))
    return FieldCondition(key, match=MatchValue(value))


def build_filter(query: VectorQuery) -> Filter:
    """Project (must), then agent-or-project-wide, then exact metadata matches."""
    must: list[ConditionType] = [_match("project_id", query.project_id)]
    if query.agent_id is not None:
        must.append(Filter(should=[_match("agent_id", query.agent_id), _match("agent_id", "")]))
    must.extend(_match(f"metadata.{key}", value) for key, value in query.metadata_equals.items())
    return Filter(must=must)


class EdgeVectorIndex:
    """The memories shard at `path` (cosine); open() before use, close() to release it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vector-shard")
        self._shard: EdgeShard | None = None

    @property
    def path(self) -> Path:
        """The shard's directory."""
        return self._path

    async def open(self, dimension: int) -> None:
        """Load the shard (or create it), checking its vectors fit the model's dimension."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open_sync, dimension)

    def _open_sync(self, dimension: int) -> None:
        if self._shard is not None:
            return
        config = EdgeConfig(vectors=EdgeVectorParams(size=dimension, distance=Distance.Cosine))
        exists = self._path.is_dir() and any(self._path.iterdir())
        try:
            shard = EdgeShard.load(str(self._path), config) if exists else EdgeShard.create(str(self._path), config)
        except Exception as error:  # noqa: BLE001 - the binding raises bare Exception for everything
            # Vectors of another model (searching them would return nonsense), or the
            # shard held by another process.
            raise RuntimeError(
                f"cannot open the vector shard {self._path} for {dimension}-dim vectors: {error}"
            ) from None
        indexed = shard.info().payload_schema
        for field, schema in _PAYLOAD_INDEXES.items():
            if field not in indexed:
                shard.update(UpdateOperation.create_field_index(field, schema))
        self._shard = shard
        log.info("vector shard %s open: %d points, %d dims", self._path, shard.info().points_count, dimension)

    async def close(self) -> None:
        """Flush and close the shard (releasing its lock), then the thread."""
        if self._shard is not None:
            shard, self._shard = self._shard, None

            def close() -> None:
                shard.flush()
                shard.close()

            await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        def work(shard: EdgeShard) -> None:
            for start in range(0, len(points), _UPSERT_BATCH):
                batch = points[start : start + _UPSERT_BATCH]
                shard.update(UpdateOperation.upsert_points([Point(p.id, list(p.vector), _payload(p)) for p in batch]))

        if points:
            await self._call(work)

    async def delete(self, ids: Sequence[str]) -> None:
        if ids:
            await self._call(lambda shard: shard.update(UpdateOperation.delete_points(list(ids))))

    async def delete_project(self, project_id: str) -> None:
        only = Filter(must=[_match("project_id", project_id)])
        await self._call(lambda shard: shard.update(UpdateOperation.delete_points_by_filter(only)))

    async def search(self, query: VectorQuery) -> list[ScoredId]:
        request = QueryRequest(
            limit=query.limit,
            query=Query.Nearest(list(query.vector)),
            filter=build_filter(query),
            with_payload=False,
            with_vector=False,
        )

        def work(shard: EdgeShard) -> list[ScoredId]:
            return [ScoredId(id=str(p.id), score=float(p.score)) for p in shard.query(request)]

        return await self._call(work)

    async def count(self, project_id: str | None = None) -> int:
        """Points in the shard (or in one project)."""
        only = Filter(must=[_match("project_id", project_id)]) if project_id is not None else None
        return await self._call(lambda shard: shard.count(CountRequest(exact=True, filter=only)))

    async def _call(self, work: Callable[[EdgeShard], T]) -> T:
        def run() -> T:
            if self._shard is None:
                raise Unavailable("vector index is not open")
            return work(self._shard)

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)
