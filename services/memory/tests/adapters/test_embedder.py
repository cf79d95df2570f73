"""The sentence-transformers embedder: the packaged model, off the event loop, concurrent
requests coalesced into shared forward passes (on ONNX Runtime; tests of its vectors
against sentence-transformers' own are in test_onnx_encoder.py)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import torch

from agentmesh_core.errors import Unavailable
from agentmesh_memory.adapters.embedder import SentenceTransformerEmbedder, load_model, use_threads
from agentmesh_memory.settings import DEFAULT_MODEL_NAME


async def test_batches_give_the_same_vectors_as_one_call(embedding_model) -> None:
    texts = [f"Fact number {i}: item {i} weighs {i * 3} kilograms." for i in range(7)]
    small_batches = SentenceTransformerEmbedder(DEFAULT_MODEL_NAME, batch_size=3, model=embedding_model)
    one_batch = SentenceTransformerEmbedder(DEFAULT_MODEL_NAME, batch_size=32, model=embedding_model)
    try:
        batched = await small_batches.embed(texts)
        whole = await one_batch.embed(texts)
        assert await one_batch.embed([]) == []
    finally:
        small_batches.close()
        one_batch.close()
    assert len(batched) == len(whole) == 7
    for a, b in zip(batched, whole, strict=True):
        assert len(a) == small_batches.dimension == 384
        assert sum(x * y for x, y in zip(a, b, strict=True)) == pytest.approx(1.0, abs=1e-4)


async def test_unloaded_embedder_is_unavailable() -> None:
    embedder = SentenceTransformerEmbedder(DEFAULT_MODEL_NAME)
    try:
        with pytest.raises(Unavailable):
            await embedder.embed(["x"])
        with pytest.raises(Unavailable):
            _ = embedder.dimension
        with pytest.raises(Unavailable):
            _ = embedder.tokenizer
    finally:
        embedder.close()


def test_a_missing_model_directory_is_refused_not_downloaded(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "no-such-model")


async def test_concurrent_requests_share_forward_passes(embedding_model) -> None:
    texts = [f"Question {i}: where does item {i} ship from?" for i in range(8)]
    embedder = SentenceTransformerEmbedder(DEFAULT_MODEL_NAME, model=embedding_model, window=0.05)
    try:
        alone = [await embedder.embed([t]) for t in texts]
        passes = embedder.passes
        together = await asyncio.gather(
            *(embedder.embed([t], bulk_for=None if i % 2 else "project") for i, t in enumerate(texts))
        )
        # Eight callers, one forward pass per lane: queries apart from the project's bulk work.
        assert embedder.passes - passes == 2
    finally:
        embedder.close()
    for [a], [b] in zip(alone, together, strict=True):
        assert sum(x * y for x, y in zip(a, b, strict=True)) == pytest.approx(1.0, abs=1e-4)


def test_thread_count_is_set() -> None:
    before = torch.get_num_threads()
    try:
        use_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


async def test_a_query_does_not_wait_for_a_bulk_pass(embedding_model) -> None:
    embedder = SentenceTransformerEmbedder(DEFAULT_MODEL_NAME, model=embedding_model, window=0)
    release = threading.Event()
    try:
        assert embedder._batcher is not None
        real = embedder._batcher._encode
        embedder._batcher._encode = lambda texts: (release.wait(10), real(texts))[1]  # a bulk pass that hangs
        bulk = asyncio.create_task(embedder.embed(["a long document's chunk"], bulk_for="noisy project"))
        await asyncio.sleep(0.05)
        [vector] = await asyncio.wait_for(embedder.embed(["a search query"]), 5)  # no wait for the bulk pass
        assert len(vector) == 384 and not bulk.done()
        release.set()
        await bulk
    finally:
        release.set()
        embedder.close()
