"""Cancelling a message: the turn and what it delegated stop, the model call is aborted, no tool call starts.

Every agent runs in one World (fakes + the scripted model), as in test_delegation.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from agentmesh_agents.domain.models import EventType, MessageStatus
from agentmesh_core.errors import FailedPrecondition, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_devstack.waiting import eventually

from .conftest import ADMIN, PROJECT, USER, World
from .delegation_team import ask, final, observations, parked_turns, pump, scripts, team


async def test_cancelling_a_turn_that_waits_on_a_delegation_stops_both(world: World) -> None:
    agents = await team(world)
    request = await world.send(agents["manager"], "daily report please")
    world.mailbox.take()
    await world.process(request)
    delegated = world.mailbox.take()

    cancelled = await world.cancellation.cancel(USER, PROJECT, request.id)

    assert cancelled.status is MessageStatus.CANCELLED
    for message in (request, *delegated):
        assert (await world.stored(message)).status is MessageStatus.CANCELLED
    assert parked_turns(world) == []
    stopped = [e.message_id for e in world.events.of(request.conversation_id) if e.type is EventType.CANCELLED]
    assert sorted(stopped) == sorted([request.id, *(m.id for m in delegated)])
    # Their deliveries come anyway: nothing runs, nothing is answered.
    calls = len(world.inference.calls)
    for message in delegated:
        assert (await world.process(message)).done
    await pump(world)
    assert len(world.inference.calls) == calls
    assert all(world.messages.reply_to(m) is None for m in (request, *delegated))
    with pytest.raises(FailedPrecondition, match="already cancelled"):
        await world.cancellation.cancel(ADMIN, PROJECT, request.id)


async def test_cancelling_a_delegation_tells_the_agent_that_waits(world: World) -> None:
    agents = await team(world)
    world.inference.script = scripts(
        manager=lambda turns: [final("got: " + observations(turns)[-1])] if observations(turns) else [ask("data", "x")]
    )
    request = await world.send(agents["manager"], "report")
    world.mailbox.take()
    await world.process(request)
    (delegated,) = world.mailbox.take()

    await world.cancellation.cancel(ADMIN, PROJECT, delegated.id)
    await pump(world)

    assert world.messages.reply_to(request).content == "got: error: the delegated turn was cancelled"


async def test_only_the_sender_or_an_admin_cancels_and_only_in_their_project(world: World) -> None:
    agents = await team(world)
    request = await world.send(agents["data"], "hello")
    other_member = Identity("user-2", GlobalRole.USER, PROJECT, ProjectRole.USER)
    stranger = Identity("user-9", GlobalRole.USER, "f1b8f8a4-0c1a-4f38-8d3a-59a8f6c3b2d0", ProjectRole.ADMIN)

    with pytest.raises(PermissionDenied):
        await world.cancellation.cancel(other_member, PROJECT, request.id)
    with pytest.raises(NotFound):
        await world.cancellation.cancel(stranger, PROJECT, request.id)
    with pytest.raises(NotFound):
        await world.cancellation.cancel(USER, PROJECT, "8f0d2c55-8a0e-4d59-9a39-3f1a6f0e7b11")
    assert (await world.cancellation.cancel(ADMIN, PROJECT, request.id)).status is MessageStatus.CANCELLED

    done = await world.send(agents["data"], "again")
    await world.process(done)
    with pytest.raises(FailedPrecondition, match="already complete"):
        await world.cancellation.cancel(USER, PROJECT, done.id)


async def test_cancelling_aborts_the_model_call_in_flight_and_no_tool_call_starts(world: World) -> None:
    agents = await team(world)
    world.inference.script = scripts(manager=lambda turns: [ask("data", "numbers")])
    world.inference.chunk_delay = 60.0  # the model call hangs until it is aborted
    request = await world.send(agents["manager"], "report")
    world.mailbox.take()

    delivery = asyncio.create_task(world.process(request))
    await eventually(lambda: world.inference.calls, timeout=10, what="the model call to start")
    await world.cancellation.cancel(USER, PROJECT, request.id)
    outcome = await asyncio.wait_for(delivery, 5)

    assert outcome.done
    assert (await world.stored(request)).status is MessageStatus.CANCELLED
    assert world.mailbox.take() == []  # no delegation was sent
    assert [m for m in world.messages.messages.values() if m.performative == "tool_call"] == []
    assert world.messages.reply_to(request) is None


async def test_a_turn_cancelled_on_another_replica_starts_no_tool_call(world: World) -> None:
    agents = await team(world)
    world.inference.script = scripts(manager=lambda turns: [ask("data", "numbers")])
    world.inference.chunk_delay = 0.2
    request = await world.send(agents["manager"], "report")
    world.mailbox.take()

    delivery = asyncio.create_task(world.process(request))
    await eventually(lambda: world.inference.calls, timeout=10, what="the model call to start")
    # Cancelled in the store only, as CancelMessage on another replica does: this process's stop event stays unset.
    await world.turns.cancel(PROJECT, request.id)
    assert (await asyncio.wait_for(delivery, 10)).done

    assert world.mailbox.take() == []
    assert [m for m in world.messages.messages.values() if m.performative == "tool_call"] == []
    assert world.messages.reply_to(request) is None


async def test_cancelling_a_plain_answer_mid_stream_stops_it_without_a_reply(world: World) -> None:
    agents = await team(world)
    world.inference.script = [["one ", "two ", "three ", "four ", "five"]]
    world.inference.chunk_delay = 0.2
    request = await world.send(agents["data"], "count")
    world.mailbox.take()

    delivery = asyncio.create_task(world.process(request))
    await eventually(
        lambda: any(e.type is EventType.TOKEN for e in world.events.of(request.conversation_id)),
        timeout=10,
        what="the first token",
    )
    await world.cancellation.cancel(USER, PROJECT, request.id)
    assert (await asyncio.wait_for(delivery, 10)).done

    tokens = [e.text for e in world.events.of(request.conversation_id) if e.type is EventType.TOKEN]
    assert len(tokens) < 5  # the stream stopped early
    assert world.messages.reply_to(request) is None
    assert (await world.stored(request)).status is MessageStatus.CANCELLED


async def test_cancelling_a_message_that_waits_for_an_approval_expires_the_approval(world: World) -> None:
    from agentmesh_agents.domain.approvals import Decision
    from agentmesh_agents.domain.tool_models import ApprovalStatus, Grant

    agent = await world.agent("careful", system_prompt="careful")
    await world.grant(agent, Grant("calculator", requires_approval=True))
    world.inference.script = scripts(careful=json.dumps({"tool": "calculator", "arguments": {"expression": "1+1"}}))
    request = await world.send(agent, "compute")
    world.mailbox.take()
    await world.process(request)
    (approval,) = (await world.approvals.list(USER, PROJECT, ApprovalStatus.PENDING, 10, "")).items

    await world.cancellation.cancel(USER, PROJECT, request.id)

    expired = await world.approval_store.get(PROJECT, approval.id)
    assert (expired.status, expired.comment) == (ApprovalStatus.EXPIRED, "the message was cancelled")
    with pytest.raises(FailedPrecondition, match="already expired"):
        await world.approvals.decide(ADMIN, PROJECT, approval.id, Decision.APPROVE)
    assert parked_turns(world) == []
