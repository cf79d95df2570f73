"""The runtime's handling of one delivery, with fakes and ScriptedInference."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
from collections.abc import Iterable
from datetime import timedelta

from agentmesh_agents.domain.models import AgentStatus, EventType, MessageStatus, ParticipantType
from agentmesh_agents.domain.readiness import StreamInterrupted
from agentmesh_core.errors import InvalidInput, Unavailable


async def test_reply_is_stored_and_request_completed(world):
    agent = await world.agent(system_prompt="You are terse.")
    request = await world.send(agent, "What is 2+2?")

    outcome = await world.process(request)

    assert outcome.done
    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    reply = world.messages.reply_to(request)
    assert reply is not None
    assert reply.content == "Hello there!"
    assert reply.status is MessageStatus.COMPLETE
    assert reply.performative == "reply"
    assert reply.conversation_id == request.conversation_id
    assert (reply.sender.type, reply.sender.id) == (ParticipantType.AGENT, agent.id)
    assert reply.receiver == request.sender


async def test_events_are_published_in_order(world):
    agent = await world.agent()
    request = await world.send(agent)

    await world.process(request)

    events = world.events.of(request.conversation_id)
    assert _squeezed(e.type for e in events) == [EventType.STATUS, EventType.TOKEN, EventType.REPLY]
    assert events[0].status is MessageStatus.PROCESSING
    assert "".join(e.text for e in events if e.type is EventType.TOKEN) == "Hello there!"
    assert events[-1].reply is not None and events[-1].reply.content == "Hello there!"
    assert all(e.message_id == request.id and e.agent_id == agent.id for e in events)
    assert [e.sequence for e in events] == sorted(e.sequence for e in events)


async def test_the_reply_is_stored_while_the_last_token_events_go_out(world):
    """Storing the reply does not wait for the token events; the reply's event still comes after them."""
    agent = await world.agent()
    request = await world.send(agent)
    stored = asyncio.Event()
    publish, complete = world.events.publish, world.messages.complete_with_reply

    async def held_publish(event, dedup_id=None):
        if event.type is EventType.TOKEN:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stored.wait(), 1.0)  # held until the reply is stored, 1 s at most
        await publish(event, dedup_id)

    async def noted_complete(message, reply):
        done = await complete(message, reply)
        stored.set()
        return done

    world.events.publish, world.messages.complete_with_reply = held_publish, noted_complete
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert (await world.process(request)).done

    assert loop.time() - started < 0.5  # had the store waited for the held token events: over 1 s
    events = world.events.of(request.conversation_id)
    assert _squeezed(e.type for e in events) == [EventType.STATUS, EventType.TOKEN, EventType.REPLY]
    assert "".join(e.text for e in events if e.type is EventType.TOKEN) == "Hello there!"


async def test_prompt_has_persona_memory_history_and_message(world):
    world.memory.entries = ["The office opens at 9."]
    world.inference.script = [["first answer"], ["second answer"]]
    agent = await world.agent(system_prompt="You are the receptionist.", model_config={"temperature": 0.2})
    first = await world.send(agent, "Hi")
    await world.process(first)
    second = await world.send(agent, "When do you open?", conversation_id=first.conversation_id)

    await world.process(second)

    call = world.inference.calls[-1]
    roles = [turn.role for turn in call.turns]
    assert roles == ["system", "user", "assistant", "user"]
    assert call.turns[0].content.startswith("You are the receptionist.")
    assert "The office opens at 9." in call.turns[0].content
    assert [t.content for t in call.turns[1:]] == ["Hi", "first answer", "When do you open?"]
    assert call.sampling.temperature == 0.2
    assert call.sampling.max_tokens == world.limits.default_max_tokens
    assert world.memory.queries[-1] == (agent.project_id, agent.id, "When do you open?", 3)


async def test_memory_failure_is_not_fatal(world):
    world.memory.error = Unavailable("memory down")
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done
    assert (await world.stored(request)).status is MessageStatus.COMPLETE


async def test_inference_error_marks_error_and_notifies(world):
    world.inference.script = [InvalidInput("prompt too long")]
    agent = await world.agent()
    request = await world.send(agent)

    outcome = await world.process(request)

    assert outcome.done
    stored = await world.stored(request)
    assert stored.status is MessageStatus.ERROR
    assert stored.error == "inference failed: prompt too long"
    events = world.events.of(request.conversation_id)
    assert [e.type for e in events] == [EventType.STATUS, EventType.ERROR]
    assert events[-1].error == stored.error
    assert world.messages.reply_to(request) is None


async def test_unexpected_failure_is_an_internal_error_without_details(world):
    world.inference.script = [RuntimeError("secret stack detail")]
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done
    stored = await world.stored(request)
    assert stored.status is MessageStatus.ERROR
    assert stored.error == "internal error"


async def test_inference_unavailable_fails_the_turn_once_the_client_gave_up_waiting(world):
    # The inference client raises Unavailable only after inference stayed away for the wait limit.
    world.inference.script = [Unavailable("inference down")]
    agent = await world.agent()
    request = await world.send(agent)

    outcome = await world.process(request)

    assert outcome.done
    stored = await world.stored(request)
    assert stored.status is MessageStatus.ERROR
    assert stored.error == "inference service unavailable"
    assert len(world.inference.calls) == 1


async def test_a_stream_broken_midway_restarts_in_the_same_delivery_after_a_reset(world):
    world.inference.script = [["Hel", "lo", StreamInterrupted("inference went away")], ["Hello", " again"]]
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done

    assert world.messages.reply_to(request).content == "Hello again"
    events = world.events.of(request.conversation_id)
    kinds = [e.type for e in events]
    assert _squeezed(kinds) == [
        EventType.STATUS,
        EventType.TOKEN,
        EventType.RESET,
        EventType.TOKEN,
        EventType.REPLY,
    ]
    assert "".join(e.text for e in events[: kinds.index(EventType.RESET)] if e.type is EventType.TOKEN) == "Hello"
    after_reset = events[kinds.index(EventType.RESET) + 1 :]
    assert "".join(e.text for e in after_reset if e.type is EventType.TOKEN) == "Hello again"
    assert len({call.request_id for call in world.inference.calls}) == 2


async def test_a_stream_that_keeps_breaking_fails_after_the_restart_limit(world):
    world.inference.script = [["x", StreamInterrupted("inference went away")]]
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done

    stored = await world.stored(request)
    assert (stored.status, stored.error) == (MessageStatus.ERROR, "inference service unavailable")
    assert len(world.inference.calls) == world.limits.stream_restarts_max + 1
    resets = [e for e in world.events.of(request.conversation_id) if e.type is EventType.RESET]
    assert len(resets) == world.limits.stream_restarts_max


async def test_a_turn_cut_off_before_starts_with_a_reset(world):
    # An earlier try (a runtime that crashed mid-stream) left the request processing.
    agent = await world.agent()
    request = await world.send(agent)
    await world.messages.begin_processing(request, 0)

    assert (await world.process(request, attempt=2)).done

    kinds = [e.type for e in world.events.of(request.conversation_id)]
    assert kinds[:2] == [EventType.RESET, EventType.STATUS]
    assert kinds.count(EventType.RESET) == 1 and kinds[-1] is EventType.REPLY


async def test_redelivery_after_reply_does_not_reply_twice(world):
    agent = await world.agent()
    request = await world.send(agent)
    await world.process(request)
    events_before = len(world.events.events)

    outcome = await world.process(request, attempt=2)

    assert outcome.done
    assert len(world.inference.calls) == 1
    replies = [m for m in world.messages.messages.values() if m.parent_id == request.id]
    assert len(replies) == 1
    assert len(world.events.events) == events_before


async def test_crash_after_reply_before_status_is_repaired(world):
    # A reply exists but the request still says processing (e.g. written by another worker).
    agent = await world.agent()
    request = await world.send(agent)
    await world.process(request)
    stored = await world.stored(request)
    world.messages.messages[request.id] = dataclasses.replace(stored, status=MessageStatus.PROCESSING)

    assert (await world.process(request, attempt=2)).done
    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    assert len(world.inference.calls) == 1


async def test_paused_agent_is_not_processed(world):
    agent = await world.agent(status=AgentStatus.PAUSED)
    request = await world.send(agent)

    outcome = await world.process(request)

    assert not outcome.done
    assert outcome.delay == world.limits.paused_retry_seconds
    assert world.inference.calls == []
    assert (await world.stored(request)).status is MessageStatus.QUEUED

    await world.registry.update(world.admin, agent.project_id, agent.id, {"status": AgentStatus.ACTIVE})
    assert (await world.process(request, attempt=2)).done
    assert (await world.stored(request)).status is MessageStatus.COMPLETE


async def test_message_for_deleted_agent_errors(world):
    agent = await world.agent()
    request = await world.send(agent)
    await world.registry.delete(world.admin, agent.project_id, agent.id)

    assert (await world.process(request)).done
    stored = await world.stored(request)
    assert (stored.status, stored.error) == (MessageStatus.ERROR, "agent not found")


async def test_unknown_message_is_dropped(world):
    agent = await world.agent()
    request = await world.send(agent)
    await world.messages.delete_project(request.project_id)

    assert (await world.process(request)).done
    assert world.inference.calls == []


async def test_database_outage_defers_processing(world):
    agent = await world.agent()
    request = await world.send(agent)

    async def down(*_args, **_kwargs):
        raise Unavailable("database unavailable")

    world.messages.delivery_state = down
    outcome = await world.process(request)
    assert not outcome.done
    assert outcome.delay == world.limits.storage_retry_seconds


async def test_later_message_waits_while_an_earlier_one_is_unfinished(world):
    world.inference.script = [["first"], ["second"]]
    agent = await world.agent()
    first = await world.send(agent, "one")
    second = await world.send(agent, "two")
    # However long ago the earlier message last changed, it is answered first.
    world.clock.offset = timedelta(hours=2)

    held = await world.process(second)
    assert (held.done, held.earlier_id, held.delay) == (False, first.id, world.limits.order_retry_seconds)
    assert (await world.stored(second)).status is MessageStatus.QUEUED
    assert world.inference.calls == []  # the second message never reached the model

    assert (await world.process(first)).done
    assert (await world.process(second, attempt=2)).done
    first_reply = world.messages.reply_to(first)
    second_reply = world.messages.reply_to(second)
    assert (first_reply.content, second_reply.content) == ("first", "second")


async def test_an_earlier_message_that_failed_no_longer_holds_the_agent(world):
    world.inference.script = [InvalidInput("prompt too long"), ["next"]]
    agent = await world.agent()
    failing = await world.send(agent, "too long")
    later = await world.send(agent, "next")

    assert (await world.process(failing)).done
    assert (await world.process(later)).done
    assert world.messages.reply_to(later).content == "next"


async def test_other_agents_are_not_held_by_an_unfinished_message(world):
    busy, free = await world.agent(name="busy"), await world.agent(name="free")
    await world.send(busy, "pending")
    request = await world.send(free, "go")

    assert (await world.process(request)).done


async def test_model_output_is_made_storable(world):
    """A NUL (which jsonb refuses) or a lone surrogate from the model cannot fail the message."""
    world.inference.script = [["a\x00b", " c\udc80d"]]
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done

    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    assert world.messages.reply_to(request).content == "ab c\ufffdd"
    tokens = [e.text for e in world.events.of(request.conversation_id) if e.type is EventType.TOKEN]
    assert "".join(tokens) == "ab c\ufffdd"


def _squeezed(kinds: Iterable[EventType]) -> list[EventType]:
    """The kinds with runs of one kind as one (how many TOKEN events a stream makes depends on its pace)."""
    return [kind for kind, _ in itertools.groupby(kinds)]


async def test_a_fast_stream_is_relayed_in_a_few_token_events_with_every_chunk_in_order(world):
    chunks = [f"t{i} " for i in range(40)]
    world.inference.script = [chunks]
    world.inference.chunk_delay = 0.0005  # about 20 ms in all: under one token interval (30 ms)
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done

    events = world.events.of(request.conversation_id)
    tokens = [e.text for e in events if e.type is EventType.TOKEN]
    assert "".join(tokens) == "".join(chunks)
    assert 2 <= len(tokens) <= len(chunks) / 2  # one a chunk only if they came 30x slower than sent
    assert tokens[0] == chunks[0]  # the first chunk went at once
    assert events[-1].type is EventType.REPLY


async def test_a_slow_stream_has_a_token_event_per_chunk(world):
    """Chunks further apart than the interval are not held back: each goes when it comes."""
    world.inference.script = [["one ", "two ", "three"]]
    world.inference.chunk_delay = world.limits.token_event_seconds * 3
    agent = await world.agent()
    request = await world.send(agent)

    assert (await world.process(request)).done

    tokens = [e.text for e in world.events.of(request.conversation_id) if e.type is EventType.TOKEN]
    assert tokens == ["one ", "two ", "three"]
