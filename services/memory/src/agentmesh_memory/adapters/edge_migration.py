"""Moving the vectors of qdrant-client's local mode into the embedded engine's shard, once.

Before qdrant-edge, the local default was qdrant-client's local mode, which kept
the "memories" collection under `<qdrant path>/collection/memories`. On start-up
its points are read and upserted into the shard (same ids, vectors and payload),
then a marker file is left next to them so it happens once: what is deleted
afterwards stays deleted. The old files are left as they were, so an older
release can still be started on them. A migration cut short (a crash) runs
again in full at the next start: upserts by id repeat harmlessly.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.qdrant_index import COLLECTION
from agentmesh_memory.domain.models import VectorPoint

log = logging.getLogger(__name__)

MARKER = "migrated-to-edge.json"
_PAGE = 1024


def has_local_collection(directory: Path) -> bool:
    """Whether directory holds a local-mode collection not migrated yet."""
    return (directory / "collection" / COLLECTION).is_dir() and not (directory / MARKER).exists()


async def migrate_local_collection(directory: Path, index: EdgeVectorIndex) -> int | None:
    """Copy the local-mode collection in directory into the (open) shard; the points copied, None if nothing to do."""
    if not has_local_collection(directory):
        return None
    log.info("migrating the local-mode vector collection in %s to %s", directory, index.path)
    copied = 0
    async for points in _pages(directory):
        await index.upsert(points)
        copied += len(points)
    marker = {"points": copied, "shard": str(index.path), "at": datetime.now(UTC).isoformat()}
    (directory / MARKER).write_text(json.dumps(marker) + "\n")
    log.info("migrated %d vectors from local mode; marker %s", copied, directory / MARKER)
    return copied


async def _pages(directory: Path) -> AsyncIterator[list[VectorPoint]]:
    from qdrant_client import QdrantClient

    # Local mode loads the whole collection into memory on open (seconds at 100,000 points).
    client = await asyncio.to_thread(QdrantClient, path=str(directory))
    try:
        offset = None
        while True:
            records, offset = await asyncio.to_thread(
                client.scroll, COLLECTION, limit=_PAGE, offset=offset, with_payload=True, with_vectors=True
            )
            points = [_point(r.id, r.vector, r.payload or {}) for r in records]
            if points:
                yield points
            if offset is None:
                return
    finally:
        await asyncio.to_thread(client.close)


def _point(point_id: object, vector: object, payload: dict[str, Any]) -> VectorPoint:
    if not isinstance(vector, list):
        raise RuntimeError(f"local-mode point {point_id} has no single dense vector")
    return VectorPoint(
        id=str(point_id),
        vector=[float(x) for x in vector],
        project_id=str(payload.get("project_id", "")),
        agent_id=payload.get("agent_id") or None,
        metadata=payload.get("metadata") or {},
    )
