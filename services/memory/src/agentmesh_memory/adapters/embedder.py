"""Embedder on sentence-transformers, loaded from a local path (never downloads)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from agentmesh_core.errors import Unavailable
from agentmesh_memory.adapters.embedding_batcher import EmbeddingBatcher, Encode
from agentmesh_memory.adapters.tokenizer import ModelTokenizer

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BATCH_WINDOW_SECONDS = 0.002
log = logging.getLogger(__name__)


def load_model(path: Path) -> SentenceTransformer:
    """Load a model from disk, offline, on the CPU (blocking; seconds)."""
    if not path.is_dir():
        # SentenceTransformer would take the path for a hub name and try to download it.
        raise FileNotFoundError(f"embedding model directory not found: {path}")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu")


def use_threads(threads: int) -> None:
    """torch's intra-op threads for this process (all of its models).

    1 by measurement on the 2-core machine this runs on: a single query took a
    p50 of 17-34 ms with 1 thread against 124-140 ms with 2 (p50 after 1 s idle:
    26-49 ms against 145-304 ms, worst 1.3 s), while a batch of 32 chunks ran at
    the same rate either way. With 2 threads every operator waits for the pool's
    second thread, which on a busy machine is often not running.
    """
    import torch

    torch.set_num_threads(threads)


class SentenceTransformerEmbedder:
    """Normalized embeddings from one model, in two lanes, each on a dedicated thread.

    Bulk work (an add's chunks, EmbedTexts) runs on one thread: torch's work on
    a batch does not get faster from parallel batches on these cores. Concurrent
    requests are coalesced into shared forward passes (adapters/embedding_batcher.py):
    owners (projects) take turns, and one pass holds at most `batch_size` texts
    and `bulk_batch_size` full-window texts' worth of tokens.

    Interactive work (a search's query: None as bulk_for) has a lane of its own:
    its own thread, its own copy of the model (~90 MB), its own coalescing. A
    query never waits for a bulk pass, so another project's adds cost a search
    only a share of the CPU (measured on 2 busy cores, one model thread: a query's
    p50 went from 65 ms to 266 ms next to a stream of one-chunk passes and to
    1,011 ms next to four-chunk passes; with its own lane, 65 ms to 143 ms).
    `query_lane=False` keeps one thread and one model (queries then go first
    within it). Until `load()` (or with a model passed in), embedding raises
    Unavailable, so the server can start before the model is in.
    """

    def __init__(
        self,
        model_name: str,
        batch_size: int = 32,
        model: SentenceTransformer | None = None,
        bulk_batch_size: int = 4,
        *,
        threads: int | None = None,
        window: float = BATCH_WINDOW_SECONDS,
        query_lane: bool = True,
        bulk_nice: int = 0,
    ) -> None:
        self._model_name = model_name
        self._batch_size = batch_size
        self._bulk_batch_size = bulk_batch_size
        self._threads = threads
        self._window = window
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="embedder", initializer=_lower_priority, initargs=(bulk_nice,)
        )
        self._query_executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder-queries") if query_lane else None
        )
        self._model: SentenceTransformer | None = None
        self._tokenizer: ModelTokenizer | None = None
        self._batcher: EmbeddingBatcher | None = None
        self._queries: EmbeddingBatcher | None = None
        if model is not None:
            # Given a model (tests), the query lane shares it: the tokenizer's settings are
            # fixed by the first call (made here), after which calls only read them.
            _encoder(model)(["settle the tokenizer"])
            self._use(model, model)

    async def load(self, path: Path) -> None:
        """Load the model (twice, with a query lane) off the event loop."""
        loop = asyncio.get_running_loop()
        if self._threads is not None:
            await loop.run_in_executor(self._executor, use_threads, self._threads)
        bulk = loop.run_in_executor(self._executor, load_model, path)
        if self._query_executor is None:
            model = await bulk
            self._use(model, model)
            return
        query = loop.run_in_executor(self._query_executor, load_model, path)
        bulk_model, query_model = await asyncio.gather(bulk, query)
        self._use(bulk_model, query_model)

    def _use(self, model: SentenceTransformer, query_model: SentenceTransformer) -> None:
        tokenizer = ModelTokenizer.of(model)
        self._batcher = EmbeddingBatcher(
            _encoder(model),
            self._executor,
            max_texts=self._batch_size,
            max_tokens=self._bulk_batch_size * tokenizer.max_seq_length,
            window=self._window,
        )
        if self._query_executor is not None:
            self._queries = EmbeddingBatcher(
                _encoder(query_model),
                self._query_executor,
                max_texts=self._batch_size,
                max_tokens=self._batch_size * tokenizer.max_seq_length,
                window=self._window,
            )
        self._model, self._tokenizer = model, tokenizer

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

    @property
    def tokenizer(self) -> ModelTokenizer:
        if self._tokenizer is None:
            raise Unavailable("embedding model is not loaded")
        return self._tokenizer

    @property
    def passes(self) -> int:
        """Forward passes run so far (both lanes)."""
        return sum(b.passes for b in (self._batcher, self._queries) if b is not None)

    async def embed(self, texts: Sequence[str], bulk_for: str | None = None) -> list[list[float]]:
        if self._batcher is None or self._tokenizer is None:
            raise Unavailable("embedding model is not loaded")
        items = list(texts)
        batcher = self._queries if bulk_for is None and self._queries is not None else self._batcher
        return await batcher.embed(items, self._tokenizer.input_lengths(items), bulk_for)

    def close(self) -> None:
        """Stop the embedding threads (queued work is dropped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._query_executor is not None:
            self._query_executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority(nice: int) -> None:
    # On Linux, PRIO_PROCESS with a thread id reprioritises just that thread.
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except (AttributeError, OSError) as error:
            log.warning("could not lower the bulk embedding priority (%s)", type(error).__name__)


def _encoder(model: SentenceTransformer) -> Encode:
    def encode(texts: list[str]) -> list[list[float]]:
        # No progress bar: sentence-transformers shows one per call at INFO, as plain text in a JSON log.
        vectors = model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.tolist()

    return encode
