"""VectorIndex on Qdrant's own engine in-process (qdrant-edge): the local default.

One shard directory, held by one process (its write-ahead log is locked while
open). Payload indexes on `project_id` (a tenant index: the shard keeps each
project's points together) and `agent_id`, so a search filtered by project reads
that project's points through the index instead of every point in the shard.

New points land in a plain segment, where a search costs time in proportion to
the project's points there (~12 ms for one project of 100,000 on this busy
machine). Once `index_after` points were written since the last build, the
HNSW index is built in a child process on a copy of the shard and swapped in
(adapters/edge_build.py: qdrant-edge's optimize() would hold the GIL for the
whole build, stopping the service). Writes made meanwhile are journaled and
replayed into the copy, a step at a time between searches, before the swap.

The shard is used from one dedicated thread, like qdrant-client's local mode
before it: its calls hold the GIL, so more threads would not run them faster.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeShard,
    EdgeVectorParams,
    Filter,
    KeywordIndexParams,
    PayloadSchemaType,
    Point,
    Query,
    QueryRequest,
    UpdateOperation,
)

from agentmesh_core.errors import Unavailable
from agentmesh_memory.adapters.edge_build import BUILD_COMMAND, build_dir, copy_for_build, recover, swap_in
from agentmesh_memory.adapters.edge_filters import build_filter, match, payload
from agentmesh_memory.domain.models import ScoredId, VectorPoint, VectorQuery

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_INDEX_AFTER = 20_000
_UPSERT_BATCH = 256
_REPLAY_STEP = 8  # journal entries (<= 2,048 points) replayed per turn on the shard's thread; searches run between
_PAYLOAD_INDEXES: dict[str, KeywordIndexParams | PayloadSchemaType] = {
    "project_id": KeywordIndexParams(is_tenant=True),
    "agent_id": PayloadSchemaType.Keyword,
}


class EdgeVectorIndex:
    """The memories shard at `path` (cosine); open() before use, close() to release it.

    index_after: points written since the last build that start the next one (0: never);
    indexing_threshold_kb: the engine's size above which a segment gets HNSW (None: its default).
    """

    def __init__(
        self, path: Path, *, index_after: int = DEFAULT_INDEX_AFTER, indexing_threshold_kb: int | None = None
    ) -> None:
        self._path = path
        self._index_after = index_after
        self._optimizers = (
            None if indexing_threshold_kb is None else EdgeOptimizersConfig(indexing_threshold=indexing_threshold_kb)
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vector-shard")
        self._config: EdgeConfig | None = None
        self._shard: EdgeShard | None = None
        # Shard thread only: points written since the last build began (in plain segments),
        # the writes to replay into the copy being built, and that copy once built.
        self._unindexed = 0
        self._journal: list[UpdateOperation] | None = None
        self._built: EdgeShard | None = None
        self._build: asyncio.Task[None] | None = None
        self.builds = 0  # index builds swapped in

    @property
    def path(self) -> Path:
        """The shard's directory."""
        return self._path

    async def open(self, dimension: int) -> None:
        """Load the shard (or create it), checking its vectors fit the model's dimension."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open_sync, dimension)
        self._maybe_build()  # a shard left with many unindexed points (a build cut short)

    def _open_sync(self, dimension: int) -> None:
        if self._shard is not None:
            return
        recover(self._path)
        config = EdgeConfig(
            vectors=EdgeVectorParams(size=dimension, distance=Distance.Cosine), optimizers=self._optimizers
        )
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
        info = shard.info()
        self._config, self._shard = config, shard
        self._unindexed = max(0, info.points_count - info.indexed_vectors_count)
        log.info("vector shard %s open: %d points (%d indexed), %d dims", self._path, info.points_count,
                 info.indexed_vectors_count, dimension)  # fmt: skip

    async def close(self) -> None:
        """Stop a build, flush and close the shard (releasing its lock), then the thread."""
        if self._build is not None and not self._build.done():
            self._build.cancel()
            await asyncio.wait({self._build})
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
                self._write(
                    shard, UpdateOperation.upsert_points([Point(p.id, list(p.vector), payload(p)) for p in batch])
                )
                self._unindexed += len(batch)

        if points:
            await self._call(work)
            self._maybe_build()

    async def delete(self, ids: Sequence[str]) -> None:
        if ids:
            await self._call(lambda shard: self._write(shard, UpdateOperation.delete_points(list(ids))))

    async def delete_project(self, project_id: str) -> None:
        only = Filter(must=[match("project_id", project_id)])
        await self._call(lambda shard: self._write(shard, UpdateOperation.delete_points_by_filter(only)))

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
        only = Filter(must=[match("project_id", project_id)]) if project_id is not None else None
        return await self._call(lambda shard: shard.count(CountRequest(exact=True, filter=only)))

    async def indexed(self) -> int:
        """Vectors in HNSW-indexed segments."""
        return await self._call(lambda shard: shard.info().indexed_vectors_count)

    async def settled(self) -> None:
        """Wait until no index build is running (for benchmarks and tests)."""
        while self._build is not None and not self._build.done():
            await asyncio.wait({self._build})

    def _write(self, shard: EdgeShard, operation: UpdateOperation) -> None:
        shard.update(operation)
        if self._journal is not None:
            self._journal.append(operation)  # to replay into the copy being built

    def _maybe_build(self) -> None:
        due = self._index_after > 0 and self._unindexed >= self._index_after
        if due and self._shard is not None and (self._build is None or self._build.done()):
            self._build = asyncio.get_running_loop().create_task(self._rebuild(), name="vector-shard-build")

    async def _rebuild(self) -> None:
        started = time.perf_counter()
        try:
            copy = await self._call(self._start_build)
            await _run_builder(copy)
            await self._call(lambda _: self._open_built(copy))
            while await self._call(self._replay_some):
                pass
            await self._call(self._swap)
        except asyncio.CancelledError:
            await self._call(self._drop_build)
            raise
        except Exception:
            log.warning("building the vector shard's index failed; searches stay exact", exc_info=True)
            await self._call(self._drop_build)
            return
        self.builds += 1
        log.info("vector shard index built and swapped in after %.1f s", time.perf_counter() - started)
        self._maybe_build()  # what was written meanwhile may call for the next one

    def _start_build(self, shard: EdgeShard) -> Path:
        shard.flush()
        copy = copy_for_build(self._path)  # on the shard's thread: nothing writes meanwhile
        self._journal, self._unindexed = [], 0
        return copy

    def _open_built(self, copy: Path) -> None:
        self._built = EdgeShard.load(str(copy), self._config)

    def _replay_some(self, _: EdgeShard) -> bool:
        """Replay a step of the journal into the built copy; whether more is left."""
        assert self._journal is not None and self._built is not None
        step = self._journal[:_REPLAY_STEP]
        for operation in step:
            self._built.update(operation)
        del self._journal[: len(step)]
        return len(self._journal) > _REPLAY_STEP

    def _swap(self, shard: EdgeShard) -> None:
        assert self._journal is not None and self._built is not None
        for operation in self._journal:
            self._built.update(operation)
        self._built.flush()
        self._built.close()
        self._built = self._journal = None
        shard.flush()
        shard.close()
        self._shard = None
        try:
            swap_in(self._path)
        finally:
            recover(self._path)  # a swap that failed half-way puts the old shard back
            self._shard = EdgeShard.load(str(self._path), self._config)

    def _drop_build(self, _: EdgeShard | None = None) -> None:
        if self._built is not None:
            self._built.close()
            self._built = None
        self._journal = None
        shutil.rmtree(build_dir(self._path), ignore_errors=True)

    async def _call(self, work: Callable[[EdgeShard], T]) -> T:
        def run() -> T:
            if self._shard is None:
                raise Unavailable("vector index is not open")
            return work(self._shard)

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)


async def _run_builder(copy: Path) -> None:
    """Build the copy's HNSW index in a child process."""
    process = await asyncio.create_subprocess_exec(
        *BUILD_COMMAND, str(copy), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, errors = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        tail = errors.decode(errors="replace")[-400:]
        raise RuntimeError(f"index build exited with status {process.returncode}: {tail}")
