"""Batches from one partition: strictly in order per agent, agents concurrently."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from agentmesh_agents.domain.models import AgentStatus, MessageStatus
from agentmesh_agents.domain.processor import Delivery, Outcome
from agentmesh_core.errors import Unavailable


class FakeItem:
    """An inbox item that records how it was settled."""

    def __init__(self, delivery: Delivery, log: list) -> None:
        self.delivery = delivery
        self.outcome: Outcome | None = None
        self.heartbeats = 0
        self._log = log

    async def settle(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._log.append(("settle", self.delivery.message_id, outcome.done))

    async def heartbeat(self) -> None:
        self.heartbeats += 1


async def test_two_agents_interleaved_keep_per_agent_order(world):
    world.inference = world.inference.echo(chunk_delay=0.01)
    world.rewire()
    alice, bob = await world.agent("alice"), await world.agent("bob")
    sent = []
    for i in range(4):
        sent.append(await world.send(alice, f"a{i}"))
        sent.append(await world.send(bob, f"b{i}"))
    log: list = []
    items = [FakeItem(world.delivery(m), log) for m in world.mailbox.take()]

    await world.lanes.run_batch(items)

    assert all(item.outcome is not None and item.outcome.done for item in items)
    prompts = [call.turns[-1].content for call in world.inference.calls]
    assert [p for p in prompts if p.startswith("a")] == ["a0", "a1", "a2", "a3"]
    assert [p for p in prompts if p.startswith("b")] == ["b0", "b1", "b2", "b3"]
    # The two agents ran concurrently: their prompts interleave rather than one lane after the other.
    assert prompts[:2] in (["a0", "b0"], ["b0", "a0"])
    for message in sent:
        assert (await world.stored(message)).status is MessageStatus.COMPLETE


async def test_same_agent_is_never_processed_concurrently(world):
    running = {"now": 0, "max": 0}

    class Counting(type(world.inference)):
        async def stream_chat(self, turns, sampling, request_id):
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            await asyncio.sleep(0.01)
            running["now"] -= 1
            yield "ok"

    world.inference = Counting()
    world.rewire()
    agent = await world.agent()
    for i in range(5):
        await world.send(agent, f"m{i}")
    items = [FakeItem(world.delivery(m), []) for m in world.mailbox.take()]

    await world.lanes.run_batch(items)

    assert running["max"] == 1
    assert all(item.outcome.done for item in items)


async def test_a_retry_holds_back_the_rest_of_that_agents_lane(world):
    alice, bob = await world.agent("alice"), await world.agent("bob")
    a1, a2 = await world.send(alice, "a1"), await world.send(alice, "a2")
    b1 = await world.send(bob, "b1")
    real = world.messages.begin_processing

    async def storage_down_for_a1(request, limit):
        if request.id == a1.id:
            raise Unavailable("database unavailable")  # no readiness here: handed back at once
        return await real(request, limit)

    world.messages.begin_processing = storage_down_for_a1
    log: list = []
    items = {m.id: FakeItem(world.delivery(m), log) for m in world.mailbox.take()}

    await world.lanes.run_batch(list(items.values()))

    assert not items[a1.id].outcome.done
    assert not items[a2.id].outcome.done
    assert items[a2.id].outcome.delay == items[a1.id].outcome.delay
    assert items[b1.id].outcome.done
    assert (await world.stored(a2)).status is MessageStatus.QUEUED


async def test_long_work_sends_heartbeats(world):
    world.inference.chunk_delay = 0.02
    agent = await world.agent()
    await world.send(agent)
    (item,) = [FakeItem(world.delivery(m), []) for m in world.mailbox.take()]

    await world.lanes.run_batch([item])

    assert item.heartbeats >= 2
    assert item.outcome.done


async def test_a_message_held_by_one_further_down_its_lane_is_taken_after_it_in_the_same_batch(world):
    world.inference = world.inference.echo()
    world.rewire()
    agent = await world.agent()
    first, second = await world.send(agent, "one"), await world.send(agent, "two")
    world.mailbox.take()
    # The earlier message's entry comes later (posted again, e.g. a woken turn).
    items = [FakeItem(world.delivery(second), []), FakeItem(world.delivery(first), [])]

    await world.lanes.run_batch(items)

    assert all(item.outcome.done for item in items)  # no hand-back, no delivery spent
    assert [call.turns[-1].content for call in world.inference.calls] == ["one", "two"]


async def test_a_message_held_by_one_outside_the_batch_is_handed_back_and_the_lane_goes_on(world):
    agent = await world.agent()
    outside = await world.send(agent, "still in another runtime's hands")
    held, also_held = await world.send(agent, "two"), await world.send(agent, "three")
    await world.messages.begin_processing(outside, 0)
    world.mailbox.take()
    items = [FakeItem(world.delivery(held), []), FakeItem(world.delivery(also_held), [])]

    await world.lanes.run_batch(items)

    for item in items:
        assert (item.outcome.done, item.outcome.earlier_id) == (False, outside.id)
        assert item.outcome.delay == world.limits.order_retry_seconds
    assert world.inference.calls == []


async def test_messages_waiting_in_a_lane_get_heartbeats_too(world):
    world.inference.chunk_delay = 0.02
    agent = await world.agent()
    await world.send(agent, "slow")
    await world.send(agent, "next")
    first, second = [FakeItem(world.delivery(m), []) for m in world.mailbox.take()]

    await world.lanes.run_batch([first, second])

    assert second.heartbeats >= 2  # beaten while it waited behind the first
    assert first.outcome.done and second.outcome.done


def answered_order(world) -> list[str]:
    return [call.turns[-1].content for call in world.inference.calls]


async def test_a_message_whose_post_failed_is_answered_before_later_ones_once_the_sweep_posts_it(world):
    world.inference = world.inference.echo()
    world.rewire()
    agent = await world.agent()
    world.mailbox.down = True
    first = await world.send(agent, "one")  # stored, not posted
    world.mailbox.down = False
    later = [await world.send(agent, "two"), await world.send(agent, "three")]
    held = [FakeItem(world.delivery(m), []) for m in world.mailbox.take()]

    await world.lanes.run_batch(held)

    assert all(item.outcome.earlier_id == first.id for item in held)
    assert world.inference.calls == []
    # The sweep posts it seconds later (not minutes): it lands behind the held ones.
    world.clock.offset = timedelta(seconds=world.limits.recovery_min_age_seconds + 1)
    assert await world.recovery.sweep() == 1
    (swept,) = world.mailbox.take()
    batch = [FakeItem(world.delivery(m, attempt=2), []) for m in later] + [FakeItem(world.delivery(swept), [])]

    await world.lanes.run_batch(batch)

    assert all(item.outcome.done for item in batch)
    assert answered_order(world) == ["one", "two", "three"]


async def test_order_holds_when_the_first_message_comes_back_at_the_tail_after_the_delivery_limit(world):
    world.inference = world.inference.echo()
    world.rewire()
    agent = await world.agent(status=AgentStatus.PAUSED)
    sent = [await world.send(agent, text) for text in ("one", "two", "three")]
    entries = world.mailbox.take()
    for attempt in (1, 2):
        batch = [FakeItem(world.delivery(m, attempt), []) for m in entries]
        await world.lanes.run_batch(batch)
        assert not any(item.outcome.done for item in batch)  # paused: handed back, nothing answered
    await world.registry.update(world.admin, agent.project_id, agent.id, {"status": AgentStatus.ACTIVE})
    # "one" reached the limit and was posted again: its new entry comes after the others.
    batch = [FakeItem(world.delivery(m, 3), []) for m in sent[1:]] + [FakeItem(world.delivery(sent[0]), [])]

    await world.lanes.run_batch(batch)

    assert all(item.outcome.done for item in batch)
    assert answered_order(world) == ["one", "two", "three"]
    assert [(await world.stored(m)).status for m in sent] == [MessageStatus.COMPLETE] * 3


async def test_a_message_submitted_while_its_agent_is_busy_waits_and_stop_leaves_it_unsettled(world):
    world.inference.chunk_delay = 0.05
    agent = await world.agent()
    await world.send(agent, "slow")
    await world.send(agent, "next")
    first, second = [FakeItem(world.delivery(m), []) for m in world.mailbox.take()]

    answering = world.lanes.submit(first)
    waiting = world.lanes.submit(second)  # the same agent: it waits in the lane
    await asyncio.sleep(0.02)
    await world.lanes.stop()

    assert answering.cancelled() and waiting.cancelled()
    assert first.outcome is None and second.outcome is None  # the runtime hands them back
    assert len(world.inference.calls) == 1
