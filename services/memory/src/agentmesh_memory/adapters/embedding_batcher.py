"""Concurrent embedding requests coalesced into shared forward passes on the model's one thread.

A forward pass costs about (texts x longest text) tokens, plus a fixed price per
pass that dominates for short texts (one query alone: ~135 texts/s; 32 short
texts together: ~400/s). So requests that arrive together (queries of
concurrent searches, an add's chunks) go through the model together.

Each pass is bounded by `max_texts` and by `max_tokens` padded tokens, because
whatever arrives while a pass runs waits for it: a search waits for at most one
pass. Which texts make up a pass is fair: waiting interactive texts (a search's
query, owner None) first, then the bulk owners' texts (a project's add, a
caller's EmbedTexts) round robin, one text each in turn, so a project sending
many big adds gets the same share of the model as a project sending one.

When the model was idle, the first pass waits `window` seconds (a few ms) so
that requests arriving at the same moment share it; later passes start at once
with whatever queued up during the one before.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Encode = Callable[[list[str]], list[list[float]]]


@dataclass(eq=False)
class _Request:
    texts: list[str]
    lengths: list[int]
    done: asyncio.Future[list[list[float]]]
    vectors: list[list[float]] = field(default_factory=list)
    taken: int = 0  # texts handed to a pass so far

    @property
    def waiting(self) -> bool:
        return self.taken < len(self.texts) and not self.done.done()


class EmbeddingBatcher:
    """Runs `encode` on `executor`, one pass at a time, over the texts of every waiting request."""

    def __init__(self, encode: Encode, executor: Executor, *, max_texts: int, max_tokens: int, window: float) -> None:
        if max_texts < 1 or max_tokens < 1 or window < 0:
            raise ValueError("need max_texts >= 1, max_tokens >= 1, window >= 0")
        self._encode = encode
        self._executor = executor
        self._max_texts = max_texts
        self._max_tokens = max_tokens
        self._window = window
        self._interactive: deque[_Request] = deque()
        self._bulk: OrderedDict[str, deque[_Request]] = OrderedDict()
        self._worker: asyncio.Task[None] | None = None
        self.passes = 0  # forward passes run (for tests and benchmarks)

    @property
    def waiting(self) -> int:
        """Texts waiting for a pass."""
        return sum(len(r.texts) - r.taken for r in self._queued() if r.waiting)

    async def embed(self, texts: Sequence[str], lengths: Sequence[int], owner: str | None) -> list[list[float]]:
        """One vector per text, in order; `lengths`: each text's model input tokens (its cost)."""
        if not texts:
            return []
        if len(lengths) != len(texts):
            raise ValueError("one length per text")
        loop = asyncio.get_running_loop()
        request = _Request(list(texts), [max(1, n) for n in lengths], loop.create_future())
        queue = self._interactive if owner is None else self._bulk.setdefault(owner, deque())
        queue.append(request)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run(), name="embedding-batcher")
        # A caller that goes away cancels its future: its texts not yet in a pass are dropped.
        return await request.done

    async def _run(self) -> None:
        await asyncio.sleep(self._window)  # let requests arriving together share the first pass
        loop = asyncio.get_running_loop()
        while batch := self._next_pass():
            requests = list(dict.fromkeys(r for r, _ in batch))
            try:
                vectors = await loop.run_in_executor(self._executor, self._encode, [r.texts[i] for r, i in batch])
            except asyncio.CancelledError:
                # Stopped (the embedder closed, the loop ending): nobody will run the rest.
                for request in (*requests, *self._queued()):
                    request.done.cancel()
                self._interactive.clear()
                self._bulk.clear()
                raise
            except Exception as error:
                log.warning("embedding pass of %d texts failed", len(batch), exc_info=True)
                for request in requests:
                    if not request.done.done():
                        request.done.set_exception(error)
                continue
            self.passes += 1
            for (request, _), vector in zip(batch, vectors, strict=True):
                if not request.done.done():
                    request.vectors.append(vector)
            for request in requests:
                if len(request.vectors) == len(request.texts) and not request.done.done():
                    request.done.set_result(request.vectors)

    def _next_pass(self) -> list[tuple[_Request, int]]:
        """The next pass: interactive texts first, then bulk owners one text each in turn."""
        batch: list[tuple[_Request, int]] = []
        longest = 0

        def take(request: _Request) -> bool:
            nonlocal longest
            length = request.lengths[request.taken]
            padded = (len(batch) + 1) * max(longest, length)
            if batch and (len(batch) == self._max_texts or padded > self._max_tokens):
                return False
            batch.append((request, request.taken))
            request.taken += 1
            longest = max(longest, length)
            return True

        while self._interactive:
            request = self._interactive[0]
            if not request.waiting:
                self._interactive.popleft()
            elif not take(request):
                return batch
        while self._bulk:
            owner, queue = next(iter(self._bulk.items()))
            while queue and not queue[0].waiting:
                queue.popleft()
            if not queue:
                del self._bulk[owner]
                continue
            if not take(queue[0]):
                return batch
            self._bulk.move_to_end(owner)  # the next owner's turn
        return batch

    def _queued(self) -> list[_Request]:
        return [*self._interactive, *(r for queue in self._bulk.values() for r in queue)]
