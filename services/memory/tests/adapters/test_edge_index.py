"""The embedded engine's shard: payload indexes, one holder at a time, and the once-only
migration of an older qdrant-client local-mode collection into it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qdrant_edge import EdgeShard

from agentmesh_core.errors import Unavailable
from agentmesh_core.ids import new_id
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.edge_migration import MARKER, has_local_collection, migrate_local_collection
from agentmesh_memory.adapters.qdrant_index import QdrantVectorIndex
from agentmesh_memory.domain.models import VectorPoint, VectorQuery


async def test_the_shard_has_payload_indexes_on_project_and_agent(tmp_path: Path) -> None:
    index = EdgeVectorIndex(tmp_path / "edge")
    await index.open(4)
    project = new_id()
    await index.upsert([VectorPoint(new_id(), [1, 0, 0, 0], project, None, {}) for _ in range(3)])
    assert await index.count(project) == 3 and await index.count() == 3
    await index.close()

    shard = EdgeShard.load(str(tmp_path / "edge"))
    try:
        schema = shard.info().payload_schema
        assert set(schema) == {"project_id", "agent_id"}
        assert schema["project_id"].points == 3
    finally:
        shard.close()


async def test_one_holder_at_a_time_and_closed_means_unavailable(tmp_path: Path) -> None:
    first = EdgeVectorIndex(tmp_path / "edge")
    await first.open(4)
    second = EdgeVectorIndex(tmp_path / "edge")
    with pytest.raises(RuntimeError, match="cannot open the vector shard"):
        await second.open(4)
    await second.close()
    await first.close()

    unopened = EdgeVectorIndex(tmp_path / "never-opened")
    with pytest.raises(Unavailable):
        await unopened.search(VectorQuery(new_id(), [1, 0, 0, 0], 5))
    await unopened.close()
    reopened = EdgeVectorIndex(tmp_path / "edge")
    await reopened.open(4)  # the lock went with close()
    await reopened.close()


async def _local_collection(directory: Path, points: list[VectorPoint]) -> None:
    legacy = QdrantVectorIndex.local(str(directory))
    await legacy.open(4)
    await legacy.upsert(points)
    await legacy.close()


async def test_a_local_mode_collection_is_migrated_once(tmp_path: Path) -> None:
    directory = tmp_path / "qdrant"
    project, other, agent = new_id(), new_id(), new_id()
    shared = VectorPoint(new_id(), [1, 0, 0, 0], project, None, {"kind": "a", "flag": True})
    mine = VectorPoint(new_id(), [0.9, 0.1, 0, 0], project, agent, {"kind": "b"})
    foreign = VectorPoint(new_id(), [1, 0, 0, 0], other, None, {})
    await _local_collection(directory, [shared, mine, foreign])
    assert has_local_collection(directory)

    index = EdgeVectorIndex(directory / "edge")
    await index.open(4)
    try:
        assert await migrate_local_collection(directory, index) == 3
        hits = await index.search(VectorQuery(project, [1, 0, 0, 0], 10))
        assert [h.id for h in hits] == [shared.id, mine.id]
        assert [h.id for h in await index.search(VectorQuery(project, [1, 0, 0, 0], 10, agent_id=agent))] == [
            shared.id,
            mine.id,
        ]
        flagged = await index.search(VectorQuery(project, [1, 0, 0, 0], 10, metadata_equals={"flag": True}))
        assert [h.id for h in flagged] == [shared.id]
        assert json.loads((directory / MARKER).read_text())["points"] == 3

        await index.delete([shared.id])
        assert await migrate_local_collection(directory, index) is None  # once: the delete holds
        assert [h.id for h in await index.search(VectorQuery(project, [1, 0, 0, 0], 10))] == [mine.id]
    finally:
        await index.close()
    assert (directory / "collection").is_dir()  # the old files are left for an older release


async def test_no_local_collection_means_nothing_to_migrate(tmp_path: Path) -> None:
    index = EdgeVectorIndex(tmp_path / "qdrant" / "edge")
    await index.open(4)
    try:
        assert await migrate_local_collection(tmp_path / "qdrant", index) is None
    finally:
        await index.close()
    assert not (tmp_path / "qdrant" / MARKER).exists()
