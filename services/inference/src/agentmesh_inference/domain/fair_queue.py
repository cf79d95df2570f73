"""A fair queue in front of the engine: when it is saturated, projects take turns.

The engine batches at most `capacity` sequences per step; whatever is submitted
beyond that waits in the engine's own first-come-first-served queue, where one
project that floods would sit ahead of everybody else. So at most `capacity`
requests are given to the engine at once, and the rest wait here, one FIFO per
project: each freed slot goes to the next project in round-robin order. Below
capacity a request passes straight through (nothing waits, nothing is reordered).

vLLM's `scheduling_policy="priority"` (also in the CPU build) was the other option;
its priorities are fixed when a request is submitted, so it cannot give the next
free slot to whichever project has waited longest the way a round-robin here can.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FairQueue:
    """At most `capacity` holders at once; waiters are served round-robin by project."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a fair queue needs a capacity of at least 1")
        self.capacity = capacity
        self.active = 0
        # project -> its waiters, in arrival order; the dict's order is the round-robin turn.
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def queued(self) -> int:
        """Requests waiting for a slot."""
        return sum(len(waiters) for waiters in self._waiting.values())

    @asynccontextmanager
    async def slot(self, project_id: str) -> AsyncIterator[None]:
        """Hold one engine slot for the block, waiting for a fair turn when all are taken."""
        await self._acquire(project_id)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, project_id: str) -> None:
        if self.active < self.capacity and not self._waiting:
            self.active += 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(project_id, deque()).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                # Granted and cancelled at once: the slot was counted for us, pass it on.
                self._release()
            else:
                self._forget(project_id, granted)
            raise

    def _release(self) -> None:
        self.active -= 1
        while self._waiting and self.active < self.capacity:
            project_id, waiters = next(iter(self._waiting.items()))
            granted = waiters.popleft()
            # The project goes to the back of the turn, or leaves it when nobody of it waits.
            del self._waiting[project_id]
            if waiters:
                self._waiting[project_id] = waiters
            self.active += 1
            granted.set_result(None)

    def _forget(self, project_id: str, granted: asyncio.Future[None]) -> None:
        waiters = self._waiting.get(project_id)
        if waiters is None:
            return
        try:
            waiters.remove(granted)
        except ValueError:
            return
        if not waiters:
            del self._waiting[project_id]
