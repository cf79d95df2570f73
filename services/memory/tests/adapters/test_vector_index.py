"""VectorIndex congruence: the fake, qdrant-client (local mode, standing in for the
server's API) and the embedded engine (qdrant-edge) answer every case the same."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agentmesh_core.ids import new_id
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.qdrant_index import QdrantVectorIndex
from agentmesh_memory.domain.models import VectorPoint, VectorQuery

OnDisk = Callable[[Path], QdrantVectorIndex | EdgeVectorIndex]
ON_DISK: dict[str, OnDisk] = {
    "qdrant-local": lambda path: QdrantVectorIndex.local(str(path)),
    "qdrant-edge": EdgeVectorIndex,
}


def _point(project_id: str, vector: list[float], agent_id: str | None = None, **metadata) -> VectorPoint:
    return VectorPoint(new_id(), vector, project_id, agent_id, metadata)


async def test_search_is_scoped_ranked_and_filtered(vector_index) -> None:
    project, agent, other_agent = new_id(), new_id(), new_id()
    shared = _point(project, [1, 0, 0, 0], kind="a", page=3)
    mine = _point(project, [0.9, 0.1, 0, 0], agent, kind="b", ratio=0.5, flag=True)
    theirs = _point(project, [0.8, 0.2, 0, 0], other_agent, kind="a")
    far = _point(project, [0, 0, 0, 1])
    foreign = _point(new_id(), [1, 0, 0, 0])
    await vector_index.upsert([shared, mine, theirs, far, foreign])

    def query(**kwargs) -> VectorQuery:
        return VectorQuery(project_id=project, vector=[1, 0, 0, 0], limit=10, **kwargs)

    hits = await vector_index.search(query())
    assert [h.id for h in hits] == [shared.id, mine.id, theirs.id, far.id]
    assert hits[0].score == pytest.approx(1.0, abs=1e-5) and hits[-1].score == pytest.approx(0.0, abs=1e-5)
    assert [h.id for h in await vector_index.search(query(agent_id=agent))] == [shared.id, mine.id, far.id]
    assert [h.id for h in await vector_index.search(query(metadata_equals={"kind": "a"}))] == [shared.id, theirs.id]
    assert [h.id for h in await vector_index.search(query(metadata_equals={"page": 3}))] == [shared.id]
    assert [h.id for h in await vector_index.search(query(metadata_equals={"ratio": 0.5}))] == [mine.id]
    assert [h.id for h in await vector_index.search(query(metadata_equals={"flag": True}))] == [mine.id]
    assert await vector_index.search(query(metadata_equals={"kind": "zzz"})) == []
    assert len(await vector_index.search(VectorQuery(project_id=project, vector=[1, 0, 0, 0], limit=2))) == 2


async def test_delete_and_delete_project(vector_index) -> None:
    project, other = new_id(), new_id()
    a, b, c = _point(project, [1, 0, 0, 0]), _point(project, [0, 1, 0, 0]), _point(other, [1, 0, 0, 0])
    await vector_index.upsert([a, b, c])
    await vector_index.delete([a.id, new_id()])
    assert [h.id for h in await vector_index.search(VectorQuery(project, [1, 0, 0, 0], 10))] == [b.id]
    await vector_index.delete_project(project)
    assert await vector_index.search(VectorQuery(project, [1, 0, 0, 0], 10)) == []
    assert [h.id for h in await vector_index.search(VectorQuery(other, [1, 0, 0, 0], 10))] == [c.id]


@pytest.mark.parametrize("kind", ON_DISK)
async def test_reopens_persisted_data_and_rejects_another_dimension(kind: str, tmp_path: Path) -> None:
    make = ON_DISK[kind]
    path = tmp_path / "vectors"
    project = new_id()
    index = make(path)
    await index.open(4)
    point = _point(project, [1, 0, 0, 0])
    await index.upsert([point])
    await index.close()

    reopened = make(path)
    await reopened.open(4)
    assert [h.id for h in await reopened.search(VectorQuery(project, [1, 0, 0, 0], 5))] == [point.id]
    await reopened.close()

    wrong = make(path)
    with pytest.raises(RuntimeError, match="4"):
        await wrong.open(8)
    await wrong.close()


async def test_an_upsert_replaces_the_point(vector_index) -> None:
    project, other = new_id(), new_id()
    point = _point(project, [1, 0, 0, 0], kind="old")
    await vector_index.upsert([point])
    moved = VectorPoint(point.id, [0, 1, 0, 0], other, None, {"kind": "new"})
    await vector_index.upsert([moved])
    assert await vector_index.search(VectorQuery(project, [1, 0, 0, 0], 5)) == []
    [hit] = await vector_index.search(VectorQuery(other, [0, 1, 0, 0], 5, metadata_equals={"kind": "new"}))
    assert hit.id == point.id and hit.score == pytest.approx(1.0, abs=1e-5)


async def test_an_empty_project_and_an_empty_call(vector_index) -> None:
    await vector_index.upsert([])
    await vector_index.delete([])
    await vector_index.delete_project(new_id())
    assert await vector_index.search(VectorQuery(new_id(), [1, 0, 0, 0], 5)) == []


async def test_filter_on_a_list_matches_any_item(vector_index) -> None:
    project = new_id()
    tagged = _point(project, [1, 0, 0, 0], tags=["red", "blue"], pages=[1, 2], flags=[True])
    plain = _point(project, [1, 0, 0, 0], tags="red", pages=1)
    await vector_index.upsert([tagged, plain])

    async def ids(**conditions) -> set[str]:
        hits = await vector_index.search(VectorQuery(project, [1, 0, 0, 0], 10, metadata_equals=conditions))
        return {h.id for h in hits}

    assert await ids(tags="red") == {tagged.id, plain.id}
    assert await ids(tags="blue") == {tagged.id}
    assert await ids(pages=2) == {tagged.id}
    assert await ids(flags=True) == {tagged.id}
    assert await ids(tags="green") == set()
    assert await ids(flags=1) == set()  # booleans and numbers never match each other
    assert await ids(pages=True) == set()
    assert await ids(pages=1.0) == {tagged.id, plain.id}  # a float compares as a number
