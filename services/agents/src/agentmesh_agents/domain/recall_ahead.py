"""Memory searches started when a message is accepted, for its turn to pick up.

A chat turn's memory search (the query's embedding, then the vector search) was the
longest step before generation, and it needs only the message: its project, its
agent and its text. So SendMessage starts it as the message is accepted, and it runs
while the message is stored, the mailbox delivers it and the turn reads its state and
history (a message that is not stored after all, refused or a repeat, has its search
dropped). The turn takes the search by the message's id (`take`), or searches itself
when there is none: the message was accepted by another replica or before a
restart, the search is older than `max_age` (a turn that waited behind earlier
ones recalls afresh), or it was pushed out by newer ones (at most `capacity` are
kept; one pushed out is cancelled).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Search:
    agent_id: str
    started: float
    task: asyncio.Task[list[str]]


class RecallAhead:
    """Searches under way or done, by the id of the message they were started for."""

    def __init__(self, max_age: float, capacity: int = 1_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_age = max_age
        self._capacity = capacity
        self._clock = clock
        self._searches: OrderedDict[str, _Search] = OrderedDict()

    def start(self, message_id: str, agent_id: str, search: Coroutine[None, None, list[str]]) -> None:
        """Run `search` for the turn of this message (to this agent)."""
        task = asyncio.create_task(search, name=f"recall-ahead-{message_id}")
        self._searches[message_id] = _Search(agent_id, self._clock(), task)
        while len(self._searches) > self._capacity:
            _discard(self._searches.popitem(last=False)[1].task)

    def drop(self, message_id: str) -> None:
        """Cancel the search started for this message, if any: no turn will take it."""
        search = self._searches.pop(message_id, None)
        if search is not None:
            _discard(search.task)

    def take(self, message_id: str, agent_id: str) -> asyncio.Task[list[str]] | None:
        """The search started for this message, if it is still fresh; None: search now."""
        search = self._searches.pop(message_id, None)
        if search is None:
            return None
        if search.agent_id != agent_id or self._clock() - search.started > self._max_age:
            _discard(search.task)
            return None
        return search.task

    def __len__(self) -> int:
        return len(self._searches)


def _discard(task: asyncio.Task[list[str]]) -> None:
    """Cancel a search nobody will await; one that already failed has its error retrieved, not reported."""
    task.cancel()
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
