"""Embedder on sentence-transformers, loaded from a local path (never downloads)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from agentmesh_core.errors import Unavailable
from agentmesh_memory.adapters.fair_turns import FairTurns

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def load_model(path: Path) -> SentenceTransformer:
    """Load a model from disk, offline, on the CPU (blocking; seconds)."""
    if not path.is_dir():
        # SentenceTransformer would take the path for a hub name and try to download it.
        raise FileNotFoundError(f"embedding model directory not found: {path}")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu")


def _encode(model: SentenceTransformer, texts: list[str]) -> list[list[float]]:
    vectors = model.encode(texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True)
    return vectors.tolist()


class SentenceTransformerEmbedder:
    """Normalized embeddings from one model, computed on one dedicated thread.

    One thread because torch already spreads a batch over every core: parallel
    batches would only compete. Work goes in batch by batch, each batch taking
    a fair turn on the thread (adapters/fair_turns.py): a search's query goes
    ahead of waiting bulk batches, and bulk owners (projects adding memories)
    take turns. Bulk batches are small (`bulk_batch_size`) because a search
    may have to wait for the one already running. Until `load()` (or with a
    model passed in), embedding raises Unavailable, so the server can start
    before the model is in.
    """

    def __init__(
        self,
        model_name: str,
        batch_size: int = 32,
        model: SentenceTransformer | None = None,
        bulk_batch_size: int = 4,
    ) -> None:
        self._model_name = model_name
        self._batch_size = batch_size
        self._bulk_batch_size = bulk_batch_size
        self._model = model
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")
        self._turns = FairTurns()

    async def load(self, path: Path) -> None:
        """Load the model off the event loop."""
        self._model = await asyncio.get_running_loop().run_in_executor(self._executor, load_model, path)

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def dimension(self) -> int:
        if self._model is None:
            raise Unavailable("embedding model is not loaded")
        # sentence-transformers 6 renamed the method; older releases only have the old name.
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        return int(dimension() or 0)

    async def embed(self, texts: Sequence[str], bulk_for: str | None = None) -> list[list[float]]:
        model = self._model
        if model is None:
            raise Unavailable("embedding model is not loaded")
        items = list(texts)
        loop = asyncio.get_running_loop()
        vectors: list[list[float]] = []
        size = self._batch_size if bulk_for is None else self._bulk_batch_size
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            async with self._turns.turn(bulk_for):
                vectors.extend(await loop.run_in_executor(self._executor, _encode, model, batch))
        return vectors

    def close(self) -> None:
        """Stop the embedding thread (queued work is dropped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
