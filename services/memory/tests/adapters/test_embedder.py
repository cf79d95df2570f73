"""The sentence-transformers embedder: the packaged model, batch by batch, off the event loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentmesh_core.errors import Unavailable
from agentmesh_memory.adapters.embedder import SentenceTransformerEmbedder, load_model
from agentmesh_memory.settings import DEFAULT_MODEL_NAME


async def test_batches_give_the_same_vectors_as_one_call(sentence_model) -> None:
    texts = [f"Fact number {i}: item {i} weighs {i * 3} kilograms." for i in range(7)]
    small_batches = SentenceTransformerEmbedder(DEFAULT_MODEL_NAME, batch_size=3, model=sentence_model)
    one_batch = SentenceTransformerEmbedder(DEFAULT_MODEL_NAME, batch_size=32, model=sentence_model)
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
    finally:
        embedder.close()


def test_a_missing_model_directory_is_refused_not_downloaded(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "no-such-model")
