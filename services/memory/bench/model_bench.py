"""The embedding model's paths: a query after idle vs warm, concurrent queries, ingest vs raw encode + upsert.

Before: the model's encode on its own thread with torch's default threads (2 on
this machine), one call per request. Ours: SentenceTransformerEmbedder (the model
on ONNX Runtime, 1 thread, concurrent requests coalesced into shared passes). Raw:
sentence-transformers' encode called directly with 1 torch thread, and, for
ingest, that encode (batch 32) plus the engine's own upsert.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from qdrant_edge import Point, UpdateOperation
from search_bench import raw_shard

from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_core.ids import new_id
from agentmesh_devstack.bench import Rounds, header, load, p50_ms, ratio
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.embedder import EmbeddingModel, SentenceTransformerEmbedder, use_threads
from agentmesh_memory.adapters.fakes import InMemoryEntryRepository, KnownAgents
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.domain.models import Document

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

WORDS = (
    "river mountain ledger invoice harbor engine orchard signal lantern copper meadow archive beacon canyon "
    "delta ember falcon glacier horizon island jasmine kernel lattice marble nebula oasis prairie quarry"
).split()
QUERIES = [f"where does the {a} {b} ship from?" for a, b in zip(WORDS, reversed(WORDS), strict=True)]


def prose(rng: random.Random, chars: int) -> str:
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) < chars:
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + ".")
    return " ".join(sentences)


def encode(model: SentenceTransformer, texts: list[str], batch_size: int = 32) -> list[list[float]]:
    return model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True).tolist()


async def embedding(model: SentenceTransformer, prepared: EmbeddingModel, rounds: int, idle_samples: int) -> None:
    header(f"embedding one query (all-MiniLM-L6-v2, CPU), warm vs after 1 s idle; {load()}")
    before_warm, before_idle = (
        Rounds("before: encode, torch default threads, warm", "ms p50"),
        Rounds("before: encode, torch default threads, after 1 s idle", "ms p50"),
    )
    ours_warm, ours_idle = (
        Rounds("ours: embedder (ONNX Runtime, 1 thread, batcher), warm", "ms p50"),
        Rounds("ours: embedder (ONNX Runtime, 1 thread, batcher), after 1 s idle", "ms p50"),
    )
    raw_warm = Rounds("raw: encode, 1 torch thread, warm", "ms p50")
    default_threads = torch.get_num_threads()
    executor = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.get_running_loop()
    embedder = SentenceTransformerEmbedder("bench", model=prepared)

    async def old_path(text: str) -> object:
        return await loop.run_in_executor(executor, encode, model, [text])

    async def ours(text: str) -> object:
        return await embedder.embed([text])

    async def raw(text: str) -> object:
        return await loop.run_in_executor(executor, encode, model, [text])

    async def sample(call: Callable[[str], Awaitable[object]], warm: Rounds | None, idle: Rounds | None) -> None:
        if warm is not None:
            times = []
            for query in random.sample(QUERIES, 8):
                started = time.perf_counter()
                await call(query)
                times.append(time.perf_counter() - started)
            warm.values.append(p50_ms(times))
        if idle is not None:
            times = []
            for query in random.sample(QUERIES, idle_samples):
                await asyncio.sleep(1.0)
                started = time.perf_counter()
                await call(query)
                times.append(time.perf_counter() - started)
            idle.values.append(p50_ms(times))

    try:
        for _ in range(rounds):
            await loop.run_in_executor(executor, use_threads, default_threads)
            await sample(old_path, before_warm, before_idle)
            await loop.run_in_executor(executor, use_threads, 1)
            await sample(ours, ours_warm, ours_idle)
            await sample(raw, raw_warm, None)
        for figure in (before_warm, before_idle, ours_warm, ours_idle, raw_warm):
            print(figure.line())
        value = ratio("ours after idle / ours warm", ours_idle, ours_warm, "goal <= 2")
        print(f"  goal: embedding after idle within 2x of warm: {'met' if value <= 2 else 'NOT met'}")
        ratio("ours warm / raw warm", ours_warm, raw_warm)
        ratio("before after idle / ours after idle", before_idle, ours_idle)
        await concurrent_queries(model, embedder, executor, rounds)
    finally:
        embedder.close()
        executor.shutdown()


async def concurrent_queries(
    model: SentenceTransformer, embedder: SentenceTransformerEmbedder, executor: ThreadPoolExecutor, rounds: int
) -> None:
    header(f"16 concurrent queries (searches arriving together), total time; {load()}")
    ours, raw = Rounds("ours: coalesced into shared passes", "ms"), Rounds("raw: encode one query at a time", "ms")
    loop = asyncio.get_running_loop()
    for _ in range(rounds):
        queries = random.sample(QUERIES, 16)
        passes = embedder.passes
        started = time.perf_counter()
        await asyncio.gather(*(embedder.embed([q]) for q in queries))
        ours.values.append((time.perf_counter() - started) * 1000)
        shared = embedder.passes - passes
        started = time.perf_counter()
        for query in queries:
            await loop.run_in_executor(executor, encode, model, [query])
        raw.values.append((time.perf_counter() - started) * 1000)
    print(ours.line())
    print(raw.line())
    print(f"  (last round: 16 queries in {shared} forward passes)")
    ratio("raw / ours (speed-up from coalescing)", raw, ours)


async def ingest(model: SentenceTransformer, prepared: EmbeddingModel, rounds: int, notes: int) -> None:
    header(f"ingest (AddMemories' path: chunk, embed, upsert), chunks/s; {load()}")
    rng = random.Random(5)
    documents = [Document(prose(rng, rng.randint(150, 450))) for _ in range(notes)]
    documents += [Document(prose(rng, 3_000)) for _ in range(4)]
    ours_rate, raw_rate = (
        Rounds("ours: Memory.add, 4 concurrent callers", "chunks/s"),
        Rounds("raw: encode (batch 32) + the engine's upsert", "chunks/s"),
    )
    executor = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(executor, use_threads, 1)
    embedder = SentenceTransformerEmbedder("bench", model=prepared)
    caller = Identity(subject="bench", role=GlobalRole.SERVICE)
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        index = EdgeVectorIndex(Path(tmp) / "ours")
        await index.open(embedder.dimension)
        raw = raw_shard(Path(tmp) / "raw")
        memory = Memory(InMemoryEntryRepository(), index, embedder, KnownAgents())
        chunks: list[str] = []

        async def ours() -> None:
            nonlocal chunks
            project = new_id()
            shares = [documents[i::4] for i in range(4)]
            started = time.perf_counter()
            added = await asyncio.gather(*(memory.add(caller, project, "", share) for share in shares))
            ours_rate.values.append(sum(len(a) for a in added) / (time.perf_counter() - started))
            chunks = [entry.content for entries in added for entry in entries]

        async def raw_path() -> None:
            project = new_id()
            started = time.perf_counter()
            vectors = await loop.run_in_executor(executor, encode, model, chunks)
            payload = {"project_id": project, "agent_id": "", "metadata": {}}
            points = [Point(new_id(), v, payload) for v in vectors]
            for start in range(0, len(points), 256):
                raw.update(UpdateOperation.upsert_points(points[start : start + 256]))
            raw_rate.values.append(len(chunks) / (time.perf_counter() - started))

        try:
            await ours()  # warm-up, and the chunks the raw path encodes
            for turn in range(rounds):
                for step in (ours, raw_path) if turn % 2 == 0 else (raw_path, ours):
                    await step()
            ours_rate.values.pop(0)  # the warm-up
        finally:
            raw.close()
            await index.close()
            embedder.close()
            executor.shutdown()
    print(f"  {len(documents)} documents -> {len(chunks)} chunks per round")
    print(ours_rate.line())
    print(raw_rate.line())
    value = ratio("ours / raw", ours_rate, raw_rate, "goal >= 0.8")
    print(f"  goal: ingest >= 0.8x the raw encode + upsert rate: {'met' if value >= 0.8 else 'NOT met'}; {load()}")
