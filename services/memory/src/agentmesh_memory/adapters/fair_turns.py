"""Fair turns on one resource (the embedding model's thread).

Work is split into steps (a batch each) and every step waits for its turn. When
the resource frees up, a waiting interactive step goes first (a search's query:
small, and someone is waiting on it); otherwise the owners of waiting bulk
steps take turns, one step each, round robin. So a search waits for at most
the one bulk batch already running, and a project sending many big adds gets
the same share of the model as a project sending one, not a share per request.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FairTurns:
    """Grants the resource to one step at a time: interactive first, then bulk owners in turn."""

    def __init__(self) -> None:
        self._busy = False
        self._interactive: deque[asyncio.Future[None]] = deque()
        self._bulk: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def waiting(self) -> int:
        """Steps waiting for a turn."""
        return len(self._interactive) + sum(len(q) for q in self._bulk.values())

    @asynccontextmanager
    async def turn(self, bulk_for: str | None = None) -> AsyncIterator[None]:
        """Hold the resource for one step (bulk_for None: an interactive step)."""
        await self._acquire(bulk_for)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, bulk_for: str | None) -> None:
        if not self._busy:
            self._busy = True
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._interactive if bulk_for is None else self._bulk.setdefault(bulk_for, deque())
        queue.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # handed the turn just as the step was cancelled: pass it on
            else:
                self._forget(queue, granted, bulk_for)
            raise

    def _forget(self, queue: deque[asyncio.Future[None]], granted: asyncio.Future[None], bulk_for: str | None) -> None:
        if granted in queue:
            queue.remove(granted)
        if bulk_for is not None and not queue and self._bulk.get(bulk_for) is queue:
            del self._bulk[bulk_for]

    def _release(self) -> None:
        step = self._next()
        if step is None:
            self._busy = False
        else:
            step.set_result(None)  # the resource stays busy: it changes hands

    def _next(self) -> asyncio.Future[None] | None:
        while self._interactive:
            step = self._interactive.popleft()
            if not step.done():  # a cancelled step may still be queued for a moment
                return step
        while self._bulk:
            owner, queue = next(iter(self._bulk.items()))
            step = queue.popleft()
            if queue:
                self._bulk.move_to_end(owner)  # the next owner's turn
            else:
                del self._bulk[owner]
            if not step.done():
                return step
        return None
