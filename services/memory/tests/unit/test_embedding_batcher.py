"""The embedding batcher: requests that arrive together share a forward pass; passes are
bounded; waiting queries go first, then bulk owners round robin; cancelled callers and
failed passes never wedge it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentmesh_devstack.waiting import eventually
from agentmesh_memory.adapters.embedding_batcher import EmbeddingBatcher


class Model:
    """Records each pass; `hold()` keeps the next pass running until `release()`."""

    def __init__(self) -> None:
        self.passes: list[list[str]] = []
        self._gate = threading.Event()
        self._gate.set()
        self._running = threading.Event()

    def encode(self, texts: list[str]) -> list[list[float]]:
        self.passes.append(list(texts))
        self._running.set()
        self._gate.wait(10)
        if "boom" in texts:
            raise RuntimeError("the model failed")
        return [[float(len(text))] for text in texts]

    def hold(self) -> None:
        self._gate.clear()
        self._running.clear()

    async def running(self) -> None:
        assert await asyncio.to_thread(self._running.wait, 10), "no pass started"

    def release(self) -> None:
        self._gate.set()


@pytest.fixture
async def executor() -> AsyncIterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=True)


def _batcher(model: Model, executor: ThreadPoolExecutor, **overrides: float) -> EmbeddingBatcher:
    settings = {"max_texts": 32, "max_tokens": 1024, "window": 0.0, **overrides}
    return EmbeddingBatcher(
        model.encode,
        executor,
        max_texts=int(settings["max_texts"]),
        max_tokens=int(settings["max_tokens"]),
        window=settings["window"],
    )


async def _embed(batcher: EmbeddingBatcher, texts: list[str], owner: str | None = None) -> list[list[float]]:
    return await batcher.embed(texts, [10] * len(texts), owner)


async def _queued(batcher: EmbeddingBatcher, texts: int) -> None:
    await eventually(lambda: batcher.waiting == texts, timeout=5, interval=0.001, what=f"{texts} texts waiting")


async def test_requests_arriving_together_share_one_pass(executor: ThreadPoolExecutor) -> None:
    model = Model()
    batcher = _batcher(model, executor, window=0.2)
    first = asyncio.create_task(_embed(batcher, ["a", "bb"]))
    await asyncio.sleep(0.01)  # within the window
    results = await asyncio.gather(first, *(_embed(batcher, ["x" * n], owner="p") for n in range(3, 6)))
    assert results == [[[1.0], [2.0]], [[3.0]], [[4.0]], [[5.0]]]
    assert len(model.passes) == 1 and batcher.passes == 1
    assert await _embed(batcher, []) == []


async def test_a_pass_is_bounded_by_texts_and_by_padded_tokens(executor: ThreadPoolExecutor) -> None:
    model = Model()
    batcher = _batcher(model, executor, max_texts=3, max_tokens=100)
    short = [f"s{i}" for i in range(7)]
    await asyncio.gather(
        batcher.embed(short, [5] * 7, "a"),  # 3 per pass by count
        batcher.embed(["long1", "long2"], [60, 60], "b"),  # 2 x 60 > 100: one per pass
    )
    assert all(len(p) <= 3 for p in model.passes)
    assert all(not ({"long1", "long2"} <= set(p)) for p in model.passes)
    assert sorted(t for p in model.passes for t in p) == sorted([*short, "long1", "long2"])


async def test_queries_go_first_then_bulk_owners_take_turns(executor: ThreadPoolExecutor) -> None:
    model = Model()
    batcher = _batcher(model, executor, max_texts=1)
    model.hold()
    busy = asyncio.create_task(_embed(batcher, ["busy"], owner="Z"))
    await model.running()
    # Project A queues three texts before B queues one and a query arrives last.
    waiting = [asyncio.create_task(_embed(batcher, ["A0", "A1", "A2"], owner="A"))]
    await _queued(batcher, 3)
    waiting.append(asyncio.create_task(_embed(batcher, ["B0"], owner="B")))
    await _queued(batcher, 4)
    waiting.append(asyncio.create_task(_embed(batcher, ["query"])))
    await _queued(batcher, 5)

    model.release()
    await asyncio.gather(busy, *waiting)
    assert model.passes == [["busy"], ["query"], ["A0"], ["B0"], ["A1"], ["A2"]]
    assert batcher.waiting == 0


async def test_one_pass_mixes_owners_in_turn(executor: ThreadPoolExecutor) -> None:
    model = Model()
    batcher = _batcher(model, executor, max_texts=4)
    model.hold()
    busy = asyncio.create_task(_embed(batcher, ["busy"]))
    await model.running()
    a = asyncio.create_task(_embed(batcher, [f"A{i}" for i in range(6)], owner="A"))
    await _queued(batcher, 6)
    b = asyncio.create_task(_embed(batcher, ["B0", "B1"], owner="B"))
    query = asyncio.create_task(_embed(batcher, ["query"]))
    await _queued(batcher, 9)

    model.release()
    await asyncio.gather(busy, a, b, query)
    assert model.passes[1:] == [["query", "A0", "B0", "A1"], ["B1", "A2", "A3", "A4"], ["A5"]]
    assert a.result() == [[2.0]] * 6


async def test_a_cancelled_caller_leaves_and_the_batcher_moves_on(executor: ThreadPoolExecutor) -> None:
    model = Model()
    batcher = _batcher(model, executor)
    model.hold()
    busy = asyncio.create_task(_embed(batcher, ["busy"]))
    await model.running()
    doomed = asyncio.create_task(_embed(batcher, ["gone1", "gone2"], owner="B"))
    survivor = asyncio.create_task(_embed(batcher, ["query"]))
    await _queued(batcher, 3)
    doomed.cancel()
    await asyncio.gather(doomed, return_exceptions=True)
    assert batcher.waiting == 1

    model.release()
    await asyncio.gather(busy, survivor)
    assert model.passes == [["busy"], ["query"]]
    assert await asyncio.wait_for(_embed(batcher, ["after"], owner="C"), 5) == [[5.0]]


async def test_a_failed_pass_fails_its_callers_only(executor: ThreadPoolExecutor) -> None:
    model = Model()
    batcher = _batcher(model, executor, max_texts=1)
    model.hold()
    busy = asyncio.create_task(_embed(batcher, ["busy"]))
    await model.running()
    failing = asyncio.create_task(_embed(batcher, ["boom", "dropped"], owner="A"))
    await _queued(batcher, 2)
    other = asyncio.create_task(_embed(batcher, ["fine"], owner="B"))
    await _queued(batcher, 3)

    model.release()
    await asyncio.gather(busy, failing, other, return_exceptions=True)
    with pytest.raises(RuntimeError, match="the model failed"):
        failing.result()
    assert other.result() == [[4.0]]
    assert model.passes == [["busy"], ["boom"], ["fine"]]  # the failed caller's other text was dropped
    assert await _embed(batcher, ["again"]) == [[5.0]]  # not wedged
