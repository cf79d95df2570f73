"""Freezing the start-up heap: what is alive is left out of later collections, what comes later is not."""

from __future__ import annotations

import gc
import weakref

from agentmesh_core.gc_heap import freeze_startup_heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """A two-node reference cycle that only a collection can free; a weak reference to watch it."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_the_heap_alive_at_start_up_is_frozen_and_later_garbage_still_collected() -> None:
    built_at_start_up = [Node() for _ in range(100)]
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= len(built_at_start_up)
        later = cycle()
        gc.collect()
        assert later() is None  # created after the freeze: collected as usual
    finally:
        gc.unfreeze()  # leave the test process as it was
