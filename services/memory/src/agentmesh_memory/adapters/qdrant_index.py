"""VectorIndex on qdrant-client: a Qdrant server (production) or local mode on disk.

The local default is the embedded engine (adapters/edge_index.py); local mode
(pure-Python brute force: ~640 ms a search at 100,000 points) stays as the
stand-in for the server's API in the adapter suites, and as what older local
data is migrated from (adapters/edge_migration.py). Calls run on one dedicated
thread (local mode is synchronous and allows one client per path); the event
loop never blocks on them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException

from agentmesh_core.errors import Unavailable
from agentmesh_memory.domain.models import Scalar, ScoredId, VectorPoint, VectorQuery

log = logging.getLogger(__name__)
T = TypeVar("T")

COLLECTION = "memories"
_UPSERT_BATCH = 256


def _payload(point: VectorPoint) -> dict:
    return {"project_id": point.project_id, "agent_id": point.agent_id or "", "metadata": point.metadata}


def _match(key: str, value: Scalar) -> models.FieldCondition:
    if isinstance(value, float):
        return models.FieldCondition(key=key, range=models.Range(gte=value, lte=value))
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def build_filter(query: VectorQuery) -> models.Filter:
    """Project (must), then agent-or-project-wide, then exact metadata matches."""
    must: list[models.Condition] = [_match("project_id", query.project_id)]
    if query.agent_id is not None:
        must.append(models.Filter(should=[_match("agent_id", query.agent_id), _match("agent_id", "")]))
    must.extend(_match(f"metadata.{key}", value) for key, value in query.metadata_equals.items())
    return models.Filter(must=must)


class QdrantVectorIndex:
    """The "memories" collection (cosine); open() before use, close() to release it."""

    def __init__(self, connect: Callable[[], QdrantClient], *, payload_indexes: bool = False) -> None:
        self._connect = connect
        self._payload_indexes = payload_indexes
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qdrant")
        self._client: QdrantClient | None = None

    @classmethod
    def local(cls, path: str) -> QdrantVectorIndex:
        """Local mode, persisted under path (one process at a time)."""
        return cls(lambda: QdrantClient(path=path))

    @classmethod
    def remote(cls, url: str, api_key: str | None = None) -> QdrantVectorIndex:
        """A Qdrant server or cluster."""
        return cls(lambda: QdrantClient(url=url, api_key=api_key), payload_indexes=True)

    async def open(self, dimension: int) -> None:
        """Connect and create the collection (cosine, dimension) if it is missing."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open_sync, dimension)

    def _open_sync(self, dimension: int) -> None:
        if self._client is None:
            self._client = self._connect()
        client = self._client
        if not client.collection_exists(COLLECTION):
            client.create_collection(
                COLLECTION, vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE)
            )
            log.info("created qdrant collection %s (%d dims, cosine)", COLLECTION, dimension)
        else:
            vectors = client.get_collection(COLLECTION).config.params.vectors
            size = vectors.size if isinstance(vectors, models.VectorParams) else None
            if size != dimension:
                # Vectors of another model: searching them would return nonsense.
                raise RuntimeError(f"qdrant collection {COLLECTION} holds {size}-dim vectors, model makes {dimension}")
        if self._payload_indexes:
            # project_id as the tenant key: the server keeps each project's points together.
            tenant = models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
            client.create_payload_index(COLLECTION, "project_id", tenant)
            client.create_payload_index(COLLECTION, "agent_id", models.PayloadSchemaType.KEYWORD)

    async def close(self) -> None:
        """Close the client (releasing local mode's lock) and the thread."""
        if self._client is not None:
            client, self._client = self._client, None
            await asyncio.get_running_loop().run_in_executor(self._executor, client.close)
        self._executor.shutdown(wait=True)

    async def upsert(self, points: Sequence[VectorPoint]) -> None:
        def work(client: QdrantClient) -> None:
            for start in range(0, len(points), _UPSERT_BATCH):
                batch = points[start : start + _UPSERT_BATCH]
                client.upsert(
                    COLLECTION,
                    points=[models.PointStruct(id=p.id, vector=p.vector, payload=_payload(p)) for p in batch],
                    wait=True,
                )

        if points:
            await self._call(work)

    async def delete(self, ids: Sequence[str]) -> None:
        if ids:
            selector = models.PointIdsList(points=list(ids))
            await self._call(lambda c: c.delete(COLLECTION, points_selector=selector, wait=True))

    async def delete_project(self, project_id: str) -> None:
        selector = models.FilterSelector(filter=models.Filter(must=[_match("project_id", project_id)]))
        await self._call(lambda c: c.delete(COLLECTION, points_selector=selector, wait=True))

    async def search(self, query: VectorQuery) -> list[ScoredId]:
        def work(client: QdrantClient) -> list[ScoredId]:
            response = client.query_points(
                COLLECTION, query=query.vector, query_filter=build_filter(query), limit=query.limit, with_payload=False
            )
            return [ScoredId(id=str(p.id), score=float(p.score)) for p in response.points]

        return await self._call(work)

    async def _call(self, work: Callable[[QdrantClient], T]) -> T:
        def run() -> T:
            if self._client is None:
                raise Unavailable("vector index is not open")
            return work(self._client)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, run)
        except ResponseHandlingException as error:
            # A Qdrant server that cannot be reached (local mode never raises this).
            log.warning("qdrant unreachable: %s", type(error.source).__name__)
            raise Unavailable("vector index unavailable") from None
