"""TOKEN events are paced by how many turns stream at once: the runtime's event rate stays about a budget."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from agentmesh_agents.domain.token_relay import TokenPacing, TokenRelay


def test_the_interval_is_the_base_while_few_turns_stream_then_grows_with_them_up_to_the_cap() -> None:
    pacing = TokenPacing(seconds=0.03, per_second=200, longest=0.25)
    with contextlib.ExitStack() as turns:
        assert pacing.interval == 0.03  # none streaming
        for _ in range(6):
            turns.enter_context(pacing.streaming())
        assert pacing.interval == 0.03  # 6 turns x 1/0.03 s = 200 events a second: the budget
        for _ in range(10):
            turns.enter_context(pacing.streaming())
        assert pacing.interval == pytest.approx(16 / 200)  # 16 turns share 200 events a second
        for _ in range(100):
            turns.enter_context(pacing.streaming())
        assert pacing.interval == 0.25  # never further apart than the cap
    assert pacing.interval == 0.03  # every turn left, also the ones that raised


def test_a_turn_that_raises_stops_counting() -> None:
    pacing = TokenPacing(seconds=0.01, per_second=10, longest=1.0)
    with pytest.raises(RuntimeError), pacing.streaming(), pacing.streaming():
        raise RuntimeError("the stream broke")
    assert pacing.interval == 0.01


class _Events:
    """The publisher's TOKEN side: what was sent."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def token(self, request: object, agent_id: str, text: str) -> None:
        self.texts.append(text)


async def _relay_once(pacing: TokenPacing) -> list[str]:
    events = _Events()
    relay = TokenRelay(events, request=None, agent_id="agent", pacing=pacing)  # type: ignore[arg-type]
    for index in range(60):  # 60 chunks over ~300 ms
        relay.add(f"{index} ")
        await asyncio.sleep(0.005)
    await relay.flush()
    assert "".join(events.texts) == "".join(f"{index} " for index in range(60))  # all of it, in order
    return events.texts


async def test_with_many_turns_streaming_a_turn_sends_fewer_events_and_all_its_text() -> None:
    pacing = TokenPacing(seconds=0.03, per_second=200, longest=0.25)
    with pacing.streaming():
        alone = await _relay_once(pacing)
    with contextlib.ExitStack() as turns:
        for _ in range(40):  # 40 turns streaming: 0.2 s apart
            turns.enter_context(pacing.streaming())
        busy = await _relay_once(pacing)
    assert len(busy) <= 4 < len(alone)
    assert busy[0] == alone[0] == "0 "  # the first chunk goes at once either way
