"""The shard's HNSW index: built in a child process on a copy, writes made meanwhile replayed,
swapped in; a failed or stopped build leaves the shard as it was; a swap cut short is undone."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentmesh_core.ids import new_id
from agentmesh_memory.adapters import edge_index
from agentmesh_memory.adapters.edge_build import build_dir, old_dir
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.domain.models import VectorPoint, VectorQuery

# The real builder, started only once the test has written what the journal must carry.
WAIT_THEN_BUILD = (
    "import pathlib, sys, time\n"
    "flag = pathlib.Path(sys.argv[1]).with_name('go')\n"
    "while not flag.exists(): time.sleep(0.01)\n"
    "from agentmesh_memory.adapters.edge_build import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _points(project: str, count: int) -> list[VectorPoint]:
    rng = random.Random(count)
    return [VectorPoint(new_id(), [rng.uniform(-1, 1) for _ in range(4)], project, None, {}) for _ in range(count)]


@pytest.fixture
def builder(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(edge_index, "BUILD_COMMAND", (sys.executable, "-c", WAIT_THEN_BUILD))
    yield


@pytest.mark.usefixtures("builder")
async def test_the_index_is_built_aside_and_swapped_in_with_the_writes_made_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "edge"
    index = EdgeVectorIndex(path, index_after=300, indexing_threshold_kb=1)
    await index.open(4)
    project, other = new_id(), new_id()
    first = _points(project, 300)
    await index.upsert(_points(other, 20))
    await index.upsert(first)  # 320 unindexed: a build starts, waiting for the flag
    assert await index.indexed() == 0

    later = VectorPoint(new_id(), [0, 0, 0, 1], project, None, {"late": True})
    await index.upsert([later])
    await index.delete([p.id for p in first[:3]])
    await index.delete_project(other)
    (tmp_path / "go").touch()
    await asyncio.wait_for(index.settled(), 120)

    assert index.builds == 1
    assert await index.indexed() > 0
    assert await index.count(project) == 298 and await index.count(other) == 0
    [hit] = await index.search(VectorQuery(project, [0, 0, 0, 1], 1, metadata_equals={"late": True}))
    assert hit.id == later.id
    gone = {h.id for h in await index.search(VectorQuery(project, first[0].vector, 5))}
    assert first[0].id not in gone
    await index.close()
    assert not build_dir(path).exists() and not old_dir(path).exists()

    reopened = EdgeVectorIndex(path)
    await reopened.open(4)
    assert await reopened.count(project) == 298 and await reopened.indexed() > 0
    await reopened.close()


async def test_a_failed_build_leaves_the_shard_working(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge_index, "BUILD_COMMAND", (sys.executable, "-c", "raise SystemExit(3)"))
    path = tmp_path / "edge"
    index = EdgeVectorIndex(path, index_after=50)
    await index.open(4)
    project = new_id()
    await index.upsert(_points(project, 60))
    await asyncio.wait_for(index.settled(), 60)
    assert index.builds == 0 and not build_dir(path).exists()
    await index.upsert(_points(project, 1))
    assert await index.count(project) == 61
    await index.close()


@pytest.mark.usefixtures("builder")
async def test_closing_stops_a_build(tmp_path: Path) -> None:
    path = tmp_path / "edge"
    index = EdgeVectorIndex(path, index_after=50)
    await index.open(4)
    await index.upsert(_points(new_id(), 60))
    await asyncio.sleep(0.2)  # the child is waiting for a flag that never comes
    started = time.perf_counter()
    await asyncio.wait_for(index.close(), 30)
    assert time.perf_counter() - started < 10
    assert not build_dir(path).exists()


async def test_a_swap_cut_short_is_undone_at_open(tmp_path: Path) -> None:
    path = tmp_path / "edge"
    index = EdgeVectorIndex(path)
    await index.open(4)
    project = new_id()
    await index.upsert(_points(project, 5))
    await index.close()
    os.rename(path, old_dir(path))  # as if stopped between the swap's two renames
    build_dir(path).mkdir()

    index = EdgeVectorIndex(path)
    await index.open(4)
    assert await index.count(project) == 5
    await index.close()
    assert not build_dir(path).exists() and not old_dir(path).exists()
