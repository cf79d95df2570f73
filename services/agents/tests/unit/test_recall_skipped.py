"""A turn whose memory search fails goes on without memory, and says so: a RECALL_SKIPPED event and a metric."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from agentmesh_agents.adapters.metrics import ObservedEventPublisher
from agentmesh_agents.domain.models import EventType, MessageStatus
from agentmesh_agents.domain.prompt import PromptBuilder
from agentmesh_core.errors import DeadlineExceeded, Unavailable


def _skipped(reason: str) -> float:
    return REGISTRY.get_sample_value("agentmesh_agents_recall_skipped_total", {"reason": reason}) or 0.0


@pytest.mark.parametrize(
    ("error", "reason"),
    [(DeadlineExceeded("memory too slow"), "deadline_exceeded"), (Unavailable("down"), "unavailable")],
)
async def test_a_failed_recall_is_an_event_before_the_answer(world, error, reason) -> None:
    world.memory.error = error
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done
    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    events = world.events.of(request.conversation_id)
    kinds = [e.type for e in events]
    assert kinds.count(EventType.RECALL_SKIPPED) == 1
    assert kinds.index(EventType.RECALL_SKIPPED) < kinds.index(EventType.REPLY)
    [skipped] = [e for e in events if e.type is EventType.RECALL_SKIPPED]
    assert skipped.text == reason and skipped.message_id == request.id and skipped.agent_id == agent.id


async def test_a_recall_that_works_publishes_nothing_extra(world) -> None:
    world.memory.entries = ["The office opens at 9."]
    agent = await world.agent()
    request = await world.send(agent)
    await world.process(request)
    assert EventType.RECALL_SKIPPED not in [e.type for e in world.events.of(request.conversation_id)]


async def test_skipped_recalls_are_counted_by_reason(world) -> None:
    world.memory.error = DeadlineExceeded("memory too slow")
    world.prompts = PromptBuilder(world.memory, world.limits, ObservedEventPublisher(world.events, world.clock))
    agent = await world.agent()
    request = await world.send(agent)
    before = _skipped("deadline_exceeded")
    await world.prompts.build(agent, request, [])
    assert _skipped("deadline_exceeded") == before + 1
    assert [e.type for e in world.events.of(request.conversation_id)] == [EventType.RECALL_SKIPPED]
