"""Agents asking agents: delegation, fan-out/fan-in, the chain's limits, timeouts (cancellation: test_cancellation.py).

Every agent runs in one World (fakes + the scripted model); the model's script
dispatches on the agent's system prompt, so each agent follows its own part.
Mailbox deliveries are pumped by hand, in order, like the runtime would.
"""

from __future__ import annotations

import json
from datetime import timedelta

from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import Agent, EventType, MessageStatus, ParticipantType
from agentmesh_agents.domain.tooling import CallContext
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

from .conftest import PROJECT, World
from .delegation_team import DELEGATE, ask, final, observations, parked_turns, pump, scripts, team


async def test_a_manager_delegates_to_two_agents_in_parallel_and_composes_their_replies(world: World) -> None:
    agents = await team(world)
    request = await world.send(agents["manager"], "daily report please")
    world.mailbox.take()

    assert (await world.process(request)).done
    # Fan-out: both delegations are in their mailboxes before either is answered; the manager waits.
    delegated = world.mailbox.take()
    assert [m.receiver.id for m in delegated] == [agents["data"].id, agents["analysis"].id]
    assert (await world.stored(request)).status is MessageStatus.PROCESSING
    assert [turn.message_id for turn in parked_turns(world)] == [request.id]
    for message in delegated:
        assert message.sender.type is ParticipantType.AGENT and message.sender.id == agents["manager"].id
        assert message.parent_id == request.id and message.correlation_id == request.id
        assert message.conversation_id == request.conversation_id and message.performative == "request"

    for message in delegated:
        await world.process(message)
    await pump(world)

    reply = world.messages.reply_to(request)
    assert reply.content == "report: 42 rows + up 3%"
    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    assert parked_turns(world) == []
    # The user's conversation shows the whole tree: the delegations, their replies, the final reply.
    events = world.events.of(request.conversation_id)
    kinds = [e.type for e in events]
    assert kinds.count(EventType.DELEGATED) == 2 and kinds.count(EventType.DELEGATION_REPLY) == 2
    assert kinds[-1] is EventType.REPLY and events[-1].message_id == request.id
    replies = {e.delegation.receiver.id: e.text for e in events if e.type is EventType.DELEGATION_REPLY}
    assert replies == {agents["data"].id: "42 rows", agents["analysis"].id: "up 3%"}
    # The log holds the tree: what the other agents were asked and answered carries the root's correlation id.
    helpers = {agents["data"].id, agents["analysis"].id}
    tree = [m for m in world.messages.messages.values() if {m.sender.id, m.receiver.id} & helpers]
    assert len(tree) == 4 and {m.correlation_id for m in tree} == {request.id}


async def test_a_delegation_without_waiting_sends_and_goes_on(world: World) -> None:
    agents = await team(world)
    world.inference.script = scripts(
        manager=lambda turns: [final("sent") if observations(turns) else ask("data", "fyi", wait=False)],
        data="noted",
    )
    request = await world.send(agents["manager"], "tell data")
    world.mailbox.take()

    await world.process(request)

    assert world.messages.reply_to(request).content == "sent"
    (note,) = world.mailbox.take()
    assert note.receiver.id == agents["data"].id and note.parent_id == request.id
    await world.process(note)
    assert world.messages.reply_to(note).content == "noted"


async def test_unknown_and_foreign_agents_are_error_observations_never_another_project(world: World) -> None:
    agents = await team(world)
    stranger_project = "f1b8f8a4-0c1a-4f38-8d3a-59a8f6c3b2d0"
    stranger_admin = Identity("admin-9", GlobalRole.USER, stranger_project, ProjectRole.ADMIN)
    theirs = await world.registry.create(stranger_admin, stranger_project, Agent(id="", project_id="", name="data2"))
    targets = iter(["nobody", theirs.id])
    world.inference.script = scripts(
        manager=lambda turns: (
            [final(" | ".join(observations(turns)))] if len(observations(turns)) == 2 else [ask(next(targets), "hi")]
        )
    )
    request = await world.send(agents["manager"], "ask around")
    world.mailbox.take()

    await world.process(request)

    answer = world.messages.reply_to(request).content
    assert (
        answer
        == f"error: there is no agent 'nobody' in this project | error: there is no agent '{theirs.id}' in this project"
    )
    assert world.mailbox.take() == []
    assert all(m.project_id == PROJECT for m in world.messages.messages.values())


async def test_a_cycle_is_refused_with_a_clear_observation_and_nothing_stays_parked(world: World) -> None:
    a = await world.agent("a", system_prompt="a")
    b = await world.agent("b", system_prompt="b")
    await world.grant(a, DELEGATE)
    await world.grant(b, DELEGATE)
    world.inference.script = scripts(
        a=lambda turns: [final("a got: " + observations(turns)[-1])] if observations(turns) else [ask("b", "help")],
        b=lambda turns: [final("b got: " + observations(turns)[-1])] if observations(turns) else [ask("a", "back")],
    )
    request = await world.send(a, "start")
    world.mailbox.take()
    await world.process(request)

    await pump(world)

    answer = world.messages.reply_to(request).content
    assert answer.startswith("a got: b got: refused: a already works on this request further up the chain")
    assert parked_turns(world) == []
    assert all(m.receiver.id != a.id or m.id == request.id for m in world.messages.messages.values()
               if m.performative == "request")  # fmt: skip


async def test_a_chain_deeper_than_the_limit_ends_with_a_clear_error(world: World) -> None:
    names = [f"n{i}" for i in range(6)]
    # Budgets cover the whole tree: 12 steps are enough for 5 levels asking and answering.
    chain = [await world.agent(name, system_prompt=name, model_config={"max_steps": 12}) for name in names]
    for agent in chain:
        await world.grant(agent, DELEGATE)

    def link(index: int):
        def step(turns) -> list[str]:
            seen = observations(turns)
            if seen:
                return [final(f"{names[index]}<{seen[-1]}")]
            return [ask(names[index + 1], "go deeper")] if index + 1 < len(names) else [final("bottom")]

        return step

    world.inference.script = scripts(**{name: link(i) for i, name in enumerate(names)})
    request = await world.send(chain[0], "go")
    world.mailbox.take()
    await world.process(request)

    await pump(world)

    answer = world.messages.reply_to(request).content
    assert (
        answer == "n0<n1<n2<n3<n4<refused: delegation depth limit reached (4 agents deep); answer with what you have."
    )
    asked = [m.receiver.id for m in world.messages.messages.values() if m.performative == "request"]
    assert chain[5].id not in asked
    assert parked_turns(world) == []


async def test_a_delegated_turn_spends_only_what_the_asking_turn_has_left(world: World) -> None:
    asker = await world.agent("asker", system_prompt="asker", model_config={"max_steps": 3})
    helper = await world.agent("helper", system_prompt="helper", model_config={"max_steps": 20})
    await world.grant(asker, DELEGATE)
    await world.grant(helper, "calculator")
    world.inference.script = scripts(
        asker=lambda turns: (
            [final("asker got: " + observations(turns)[-1])] if observations(turns) else [ask("helper", "x")]
        ),
        helper=lambda turns: [json.dumps({"tool": "calculator", "arguments": {"expression": "1+1"}})],
    )
    request = await world.send(asker, "go")
    world.mailbox.take()
    await world.process(request)

    await pump(world)

    # The asker used 1 of its 3 steps: the helper, whose own budget is 20, may take only 2.
    (delegated,) = [
        m for m in world.messages.messages.values() if m.receiver.id == helper.id and m.performative == "request"
    ]
    assert (await world.stored(delegated)).error == "the turn used all 2 steps without a final answer"
    # Its steps count against the asker's budget too: the asker has none left for its answer.
    assert (await world.stored(request)).error == "the turn used all 3 steps without a final answer"
    assert parked_turns(world) == []


async def test_a_wait_that_runs_out_becomes_an_error_observation_and_cancels_the_delegation(world: World) -> None:
    agents = await team(world)
    world.inference.script = scripts(
        manager=lambda turns: [final("got: " + observations(turns)[-1])] if observations(turns) else [ask("data", "x")]
    )
    request = await world.send(agents["manager"], "report")
    world.mailbox.take()
    await world.process(request)
    (unanswered,) = world.mailbox.take()
    assert await world.delegations.expire_due() == 0

    world.clock.offset += timedelta(seconds=world.limits.delegation_timeout_seconds + 1)
    assert await world.delegations.expire_due() == 1
    await pump(world)

    answer = world.messages.reply_to(request).content
    assert answer == f"got: error: no reply from data within {world.limits.delegation_timeout_seconds:g} seconds"
    assert (await world.stored(unanswered)).status is MessageStatus.CANCELLED
    assert parked_turns(world) == []
    # The late delivery of the cancelled delegation does nothing.
    assert (await world.process(unanswered)).done
    assert world.messages.reply_to(unanswered) is None


async def test_the_same_step_delegates_once_when_a_turn_is_redelivered(world: World) -> None:
    agents = await team(world)
    request = await world.send(agents["manager"], "report")
    world.mailbox.take()
    call = CallContext(PROJECT, agents["manager"].id, request.id, request.conversation_id, "call-1", 5.0, step=1)

    first = await world.delegations.delegate(call, "data", "numbers", wait=True)
    again = await world.delegations.delegate(call, "data", "numbers", wait=True)

    assert first.awaiting == again.awaiting
    assert [m.id for m in world.mailbox.take()] == [first.awaiting]


async def test_a_turn_that_fails_cancels_the_delegations_it_still_waits_for(world: World) -> None:
    manager = await world.agent("manager", system_prompt="manager", model_config={"max_steps": 2})
    await world.agent("data", system_prompt="data")
    await world.agent("analysis", system_prompt="analysis")
    await world.grant(manager, DELEGATE)
    world.inference.script = scripts(
        manager=lambda turns: [ask("data", "numbers")] if observations(turns) else [ask("analysis", "fyi", False)]
    )
    request = await world.send(manager, "report")
    world.mailbox.take()

    await world.process(request)  # a notice, then a question: both steps spent, no answer possible

    assert (await world.stored(request)).error == "the turn used all 2 steps without a final answer"
    notice, question = world.mailbox.take()
    assert (await world.stored(question)).status is MessageStatus.CANCELLED
    assert (await world.stored(notice)).status is MessageStatus.QUEUED  # sent without waiting: it goes on


async def test_a_delegated_message_follows_the_rules_of_a_users_message() -> None:
    world = World(limits=Limits(message_max_bytes=100))
    agents = await team(world)
    request = await world.send(agents["manager"], "report")
    world.mailbox.take()
    call = CallContext(PROJECT, agents["manager"].id, request.id, request.conversation_id, "call-1", 5.0, step=1)

    refused = await world.delegations.delegate(call, "data", "x" * 200, wait=True)

    assert refused.error and refused.text.startswith("error: content must be at most 100 bytes")
    assert world.mailbox.take() == []
