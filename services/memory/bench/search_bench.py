"""Memory search at 100,000 entries, filtered by project: ours vs the raw engine (and, before, local mode).

The index holds random unit vectors (384 dims, the model's size): embedding
100,000 real chunks takes many minutes on 2 cores, and the engine's cost does not
depend on what the vectors mean. The query's embedding is not part of these
figures (the embedding section measures it).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient
from qdrant_edge import (
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
    UpdateOperation,
)

from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_core.ids import new_id
from agentmesh_devstack.bench import Rounds, header, load, p50_ms, ratio, timed
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.fakes import InMemoryEntryRepository, KnownAgents, WordTokenizer
from agentmesh_memory.adapters.qdrant_index import QdrantVectorIndex
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.domain.models import MemoryEntry, VectorPoint, VectorQuery

DIMENSION = 384
BATCH = 1000
K = 5


class GivenVector:
    """An embedder whose next vector is set by the benchmark (the query's embedding is not timed here)."""

    model_name = "bench"
    dimension = DIMENSION
    tokenizer = WordTokenizer()

    def __init__(self) -> None:
        self.vector: list[float] = []

    async def embed(self, texts: list[str], bulk_for: str | None = None) -> list[list[float]]:
        return [self.vector for _ in texts]


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def raw_shard(path: Path) -> EdgeShard:
    """The engine as its own API offers it, with the same payload indexes as ours."""
    shard = EdgeShard.create(str(path), EdgeConfig(vectors=EdgeVectorParams(size=DIMENSION, distance=Distance.Cosine)))
    shard.update(UpdateOperation.create_field_index("project_id", KeywordIndexParams(is_tenant=True)))
    shard.update(UpdateOperation.create_field_index("agent_id", PayloadSchemaType.Keyword))
    return shard


async def fill(
    entries: int, projects: list[str], ours: EdgeVectorIndex, raw: EdgeShard, repository: InMemoryEntryRepository
) -> tuple[float, float]:
    """The same points into ours and the raw shard; seconds each took."""
    rng = np.random.default_rng(7)
    now = datetime.now(UTC)
    ours_s = raw_s = 0.0
    for start in range(0, entries, BATCH):
        vectors = unit_vectors(rng, min(BATCH, entries - start)).tolist()
        ids = [new_id() for _ in vectors]
        owners = [projects[(start + i) % len(projects)] for i in range(len(vectors))]
        points = [VectorPoint(i, v, p, None, {}) for i, v, p in zip(ids, vectors, owners, strict=True)]
        started = time.perf_counter()
        await ours.upsert(points)
        ours_s += time.perf_counter() - started
        payloads = [{"project_id": p, "agent_id": "", "metadata": {}} for p in owners]
        started = time.perf_counter()
        raw.update(
            UpdateOperation.upsert_points([Point(i, v, pl) for i, v, pl in zip(ids, vectors, payloads, strict=True)])
        )
        raw_s += time.perf_counter() - started
        batch = [MemoryEntry(i, p, None, "x", {}, "bench", now) for i, p in zip(ids, owners, strict=True)]
        await repository.reserve(batch, None)  # written pending, then ready: as Memory.add stores them
        for project in set(owners):
            await repository.mark_ready(project, [entry.id for entry in batch if entry.project_id == project])
    return ours_s, raw_s


async def search_layout(entries: int, project_count: int, rounds: int, queries: int, local_mode: bool) -> None:
    projects = [new_id() for _ in range(project_count)]
    per_project = entries // project_count
    layout = f"{project_count} project{'s' if project_count > 1 else ''} of {per_project:,}"
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        ours_dir, raw_dir = Path(tmp) / "ours", Path(tmp) / "raw"
        # One background HNSW build, once the fill is done (the service builds every 20,000 points).
        ours = EdgeVectorIndex(ours_dir, index_after=entries)
        await ours.open(DIMENSION)
        raw = raw_shard(raw_dir)
        repository = InMemoryEntryRepository()
        started = time.perf_counter()
        ours_s, raw_s = await fill(entries, projects, ours, raw, repository)
        filled = time.perf_counter()
        print(f"\n  filled {entries:,} entries ({layout}) in {filled - started:.1f} s; {load()}")
        await ours.settled()
        indexed = await ours.indexed()
        print(f"  HNSW built in a child process and swapped in: {ours.builds} build(s), {indexed:,} vectors indexed, "
              f"{time.perf_counter() - filled:.0f} s after the fill; {load()}")  # fmt: skip
        # The raw engine gets the very same segments (a copy of ours): the comparison is the adapter's cost.
        raw.close()
        await ours.close()
        shutil.rmtree(raw_dir)
        shutil.copytree(ours_dir, raw_dir)
        ours = EdgeVectorIndex(ours_dir, index_after=0)
        await ours.open(DIMENSION)
        raw = EdgeShard.load(str(raw_dir))
        embedder = GivenVector()
        memory = Memory(repository, ours, embedder, KnownAgents())
        caller = Identity(subject="bench", role=GlobalRole.SERVICE)
        header(f"memory search, {entries:,} entries ({layout}), random unit vectors, k={K}, filtered by project")
        print(f"  upsert: ours {entries / ours_s:,.0f} points/s, raw engine {entries / raw_s:,.0f} points/s")

        figures = [Rounds("ours: EdgeVectorIndex.search", "ms p50"),
                   Rounds("ours: Memory.search (query vector given, rows in memory)", "ms p50"),
                   Rounds("raw engine: EdgeShard.query", "ms p50")]  # fmt: skip
        rng = np.random.default_rng(11)
        for _ in range(rounds):
            samples: list[list[float]] = [[], [], []]
            for turn, vector in enumerate(unit_vectors(rng, queries).tolist()):
                project = random.choice(projects)
                embedder.vector = vector
                request = QueryRequest(
                    limit=K,
                    query=Query.Nearest(vector),
                    filter=Filter(must=[FieldCondition("project_id", match=MatchValue(project))]),
                    with_payload=False,
                    with_vector=False,
                )

                async def index_search(project: str = project, vector: list[float] = vector) -> object:
                    return await ours.search(VectorQuery(project, vector, K))

                async def use_case(project: str = project) -> object:
                    return await memory.search(caller, project, "q", K, "", {})

                async def raw_query(request: QueryRequest = request) -> object:
                    return raw.query(request)

                steps = [index_search, use_case, raw_query]
                for which in [(turn + i) % 3 for i in range(3)]:  # interleaved: who goes first rotates
                    samples[which].append(await timed(steps[which]))
            for figure, values in zip(figures, samples, strict=True):
                figure.values.append(p50_ms(values))
        for figure in figures:
            print(figure.line())
        ratio("ours (index) / raw engine", figures[0], figures[2])
        ratio("ours (use case) / raw engine", figures[1], figures[2])
        met = "met" if figures[1].median <= 5 else "NOT met"
        print(f"  goal: search p50 <= 5 ms at {entries:,} entries: {met} ({figures[1].median:.2f} ms); {load()}")
        raw.close()
        await ours.close()
        if local_mode:
            await before_local_mode(entries, projects, queries)


async def before_local_mode(entries: int, projects: list[str], queries: int) -> None:
    """Before: qdrant-client's local mode (the old local default) on the same shape of data.

    In memory rather than on disk: the search is the same brute force either way, and
    filling the on-disk store (one SQLite write per point) would take most of an hour.
    """
    index = QdrantVectorIndex(lambda: QdrantClient(location=":memory:"))
    await index.open(DIMENSION)
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    for start in range(0, entries, BATCH):
        vectors = unit_vectors(rng, min(BATCH, entries - start)).tolist()
        owners = [projects[(start + i) % len(projects)] for i in range(len(vectors))]
        await index.upsert([VectorPoint(new_id(), v, p, None, {}) for v, p in zip(vectors, owners, strict=True)])
    built = time.perf_counter() - started
    samples = []
    for vector in unit_vectors(rng, queries).tolist():
        query = VectorQuery(random.choice(projects), vector, K)
        started = time.perf_counter()
        await index.search(query)
        samples.append(time.perf_counter() - started)
    await index.close()
    print(f"  before (qdrant-client local mode, in memory): upsert {entries / built:,.0f} points/s; "
          f"search p50 {p50_ms(samples):.1f} ms over {queries} queries; {load()}")  # fmt: skip


async def run(entries: int, rounds: int, queries: int, local_mode: bool) -> None:
    for project_count in (20, 1):
        await search_layout(entries, project_count, rounds, queries, local_mode and project_count == 20)
        await asyncio.sleep(0)
