"""Embedder on sentence-transformers models, loaded from a local path (never downloads)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentmesh_core.errors import Unavailable
from agentmesh_memory.adapters.embedding_batcher import EmbeddingBatcher, Encode
from agentmesh_memory.adapters.onnx_encoder import onnx_encoder
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


@dataclass(frozen=True)
class EmbeddingModel:
    """A loaded model, ready to embed: its forward pass, its tokenizer, its vectors' size."""

    encode: Encode  # safe to call from both lanes' threads at once
    tokenizer: ModelTokenizer
    dimension: int
    runtime: str  # what runs the forward pass: "onnxruntime" or "torch"


def prepare_model(model: SentenceTransformer, threads: int = 1) -> EmbeddingModel:
    """The model on ONNX Runtime where its modules allow (onnx_encoder.py), else on torch (blocking; seconds).

    `threads`: the forward pass's intra-op threads (1 by measurement, see use_threads).
    """
    # sentence-transformers 6 renamed the method; older releases only have the old name.
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    tokenizer = ModelTokenizer.of(model)
    encode: Encode | None = onnx_encoder(model, threads, tokenizer)
    if encode is not None:
        return EmbeddingModel(encode, tokenizer, int(dimension() or 0), "onnxruntime")
    log.info("the embedding model's modules are not transformer + pooling: it runs on torch")
    use_threads(threads)
    encode = _torch_encoder(model)
    # Both lanes share the model: the tokenizer's settings are fixed by the first call
    # (made here), after which calls only read them.
    encode(["settle the tokenizer"])
    return EmbeddingModel(encode, tokenizer, int(dimension() or 0), "torch")


def load(path: Path, threads: int = 1) -> EmbeddingModel:
    """load_model, then prepare_model (blocking; seconds)."""
    return prepare_model(load_model(path), threads)


class SentenceTransformerEmbedder:
    """Normalized embeddings from one model, in two lanes, each on a dedicated thread.

    Bulk work (an add's chunks, EmbedTexts) runs on one thread: torch's work on
    a batch does not get faster from parallel batches on these cores. Concurrent
    requests are coalesced into shared forward passes (adapters/embedding_batcher.py):
    owners (projects) take turns, and one pass holds at most `batch_size` texts
    and `bulk_batch_size` full-window texts' worth of tokens.

    Interactive work (a search's query: None as bulk_for) has a lane of its own:
    its own thread, its own coalescing, the same model (its forward pass is safe
    to run from both threads at once). A query never waits for a bulk pass, so
    another project's adds cost a search only a share of the CPU (measured on 2
    busy cores, one model thread: a query's p50 went from 65 ms to 266 ms next to
    a stream of one-chunk passes and to 1,011 ms next to four-chunk passes; with
    its own lane, 65 ms to 143 ms). `query_lane=False` keeps one thread (queries
    then go first within it). Until `load()` (or with a model passed in),
    embedding raises Unavailable, so the server can start before the model is in.
    """

    def __init__(
        self,
        model_name: str,
        batch_size: int = 32,
        model: EmbeddingModel | None = None,
        bulk_batch_size: int = 4,
        *,
        threads: int = 1,
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
        self._model: EmbeddingModel | None = None
        self._batcher: EmbeddingBatcher | None = None
        self._queries: EmbeddingBatcher | None = None
        if model is not None:
            self._use(model)

    async def load(self, path: Path) -> None:
        """Load the model off the event loop."""
        model = await asyncio.get_running_loop().run_in_executor(self._executor, load, path, self._threads)
        log.info("embedding model %s runs on %s", self._model_name, model.runtime)
        self._use(model)

    def _use(self, model: EmbeddingModel) -> None:
        length = model.tokenizer.max_seq_length
        self._batcher = EmbeddingBatcher(
            model.encode,
            self._executor,
            max_texts=self._batch_size,
            max_tokens=self._bulk_batch_size * length,
            window=self._window,
        )
        if self._query_executor is not None:
            self._queries = EmbeddingBatcher(
                model.encode,
                self._query_executor,
                max_texts=self._batch_size,
                max_tokens=self._batch_size * length,
                window=self._window,
            )
        self._model = model

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def dimension(self) -> int:
        return self._loaded().dimension

    @property
    def tokenizer(self) -> ModelTokenizer:
        return self._loaded().tokenizer

    def _loaded(self) -> EmbeddingModel:
        if self._model is None:
            raise Unavailable("embedding model is not loaded")
        return self._model

    @property
    def passes(self) -> int:
        """Forward passes run so far (both lanes)."""
        return sum(b.passes for b in (self._batcher, self._queries) if b is not None)

    async def embed(self, texts: Sequence[str], bulk_for: str | None = None) -> list[list[float]]:
        if self._model is None or self._batcher is None:
            raise Unavailable("embedding model is not loaded")
        items = list(texts)
        batcher = self._queries if bulk_for is None and self._queries is not None else self._batcher
        return await batcher.embed(items, self._model.tokenizer.input_lengths(items), bulk_for)

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


def _torch_encoder(model: SentenceTransformer) -> Encode:
    def encode(texts: list[str]) -> list[list[float]]:
        # No progress bar: sentence-transformers shows one per call at INFO, as plain text in a JSON log.
        vectors = model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.tolist()

    return encode
