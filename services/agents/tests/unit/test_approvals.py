"""Human approval: a call parks its turn durably; approve runs it, deny tells the model, time expires it.

Also parking as a general mechanism: any tool may park a turn until a wake for its key.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from agentmesh_agents.domain.approvals import Decision
from agentmesh_agents.domain.models import EventType, MessageStatus
from agentmesh_agents.domain.tool_models import ApprovalStatus, Grant, ToolCallFilter, ToolCallOutcome
from agentmesh_agents.domain.tooling import CallContext, Observation, Park
from agentmesh_agents.domain.turns import Wake, WakeOutcome
from agentmesh_core.errors import FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

from .conftest import ADMIN, PROJECT, USER, World


def call(tool: str, **arguments) -> list[str]:
    return [json.dumps({"tool": tool, "arguments": arguments})]


def answer_with_last_observation(turns) -> list[str]:
    last = [t.content for t in turns if t.content.startswith("Observation: ")][-1]
    return [json.dumps({"final": last.removeprefix("Observation: ")})]


async def parked_turn(world: World):
    """An agent whose calculator grant asks for approval, and a request parked on it."""
    world.inference.script = [call("calculator", expression="2**10"), answer_with_last_observation]
    agent = await world.agent()
    await world.grant(agent, Grant("calculator", requires_approval=True))
    request = await world.send(agent, "what is 2**10?")
    world.mailbox.take()
    outcome = await world.process(request)
    assert outcome.done, "the delivery is acked: nothing waits on the mailbox"
    (approval,) = (await world.approvals.list(USER, PROJECT, ApprovalStatus.PENDING, 10, "")).items
    return agent, request, approval


async def calls(world: World) -> list:
    return (await world.audit.list(ADMIN, PROJECT, ToolCallFilter(), 100, "")).items


async def test_a_call_that_needs_approval_parks_the_turn(world: World) -> None:
    _, request, approval = await parked_turn(world)

    assert (await world.stored(request)).status is MessageStatus.AWAITING_APPROVAL
    assert (approval.tool, approval.arguments, approval.message_id) == (
        "calculator",
        {"expression": "2**10"},
        request.id,
    )
    kinds = [e.type for e in world.events.of(request.conversation_id)]
    assert kinds[-3:] == [EventType.TOOL_CALL, EventType.APPROVAL_REQUIRED, EventType.STATUS]
    assert world.events.of(request.conversation_id)[-1].status is MessageStatus.AWAITING_APPROVAL
    (pending,) = await calls(world)
    assert pending.outcome is ToolCallOutcome.PENDING and pending.id == approval.tool_call_id
    # A redelivery while parked does nothing (and the model is not asked again).
    assert (await world.process(request)).done
    assert len(world.inference.calls) == 1
    assert world.mailbox.take() == []


async def test_approve_runs_the_call_and_the_turn_goes_on(world: World) -> None:
    _, request, approval = await parked_turn(world)

    decided = await world.approvals.decide(ADMIN, PROJECT, approval.id, Decision.APPROVE, "fine")

    assert decided.status is ApprovalStatus.APPROVED and decided.decided_by == ADMIN.subject
    (reposted,) = world.mailbox.take()
    assert reposted.id == request.id and reposted.status is MessageStatus.QUEUED
    await world.process(reposted)
    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    assert world.messages.reply_to(request).content == "1024"
    (done,) = await calls(world)
    assert done.outcome is ToolCallOutcome.ALLOWED
    kinds = [e.type for e in world.events.of(request.conversation_id)]
    assert EventType.APPROVAL_DECIDED in kinds and kinds[-1] is EventType.REPLY
    # Approving again is refused.
    with pytest.raises(FailedPrecondition):
        await world.approvals.decide(ADMIN, PROJECT, approval.id, Decision.APPROVE)


async def test_deny_feeds_the_denial_back_and_the_tool_never_runs(world: World) -> None:
    _, request, approval = await parked_turn(world)

    await world.approvals.decide(ADMIN, PROJECT, approval.id, Decision.DENY, "not now")
    (reposted,) = world.mailbox.take()
    await world.process(reposted)

    assert world.messages.reply_to(request).content == "denied by a project admin: not now"
    (denied,) = await calls(world)
    assert denied.outcome is ToolCallOutcome.DENIED
    results = [m for m in world.messages.messages.values() if m.performative == "tool_result"]
    assert [m.content["outcome"] for m in results] == ["denied"]


async def test_a_pending_approval_expires_with_a_clear_error(world: World) -> None:
    _, request, approval = await parked_turn(world)
    world.clock.offset += timedelta(seconds=world.limits.approval_ttl_seconds + 1)

    with pytest.raises(FailedPrecondition, match="expired"):
        await world.approvals.decide(ADMIN, PROJECT, approval.id, Decision.APPROVE)
    assert await world.approvals.expire_due() == 1
    (reposted,) = world.mailbox.take()
    await world.process(reposted)

    stored = await world.stored(request)
    assert stored.status is MessageStatus.ERROR
    assert stored.error == "the call to calculator waited for an approval that expired"
    assert (await calls(world))[0].outcome is ToolCallOutcome.EXPIRED
    assert (await world.approval_store.get(PROJECT, approval.id)).status is ApprovalStatus.EXPIRED
    assert await world.approvals.expire_due() == 0


async def test_only_a_project_admin_decides_and_only_in_its_project(world: World) -> None:
    _, _, approval = await parked_turn(world)
    stranger = Identity("user-9", GlobalRole.USER, "f1b8f8a4-0c1a-4f38-8d3a-59a8f6c3b2d0", ProjectRole.ADMIN)

    with pytest.raises(PermissionDenied):
        await world.approvals.decide(USER, PROJECT, approval.id, Decision.APPROVE)
    with pytest.raises(NotFound):
        await world.approvals.decide(stranger, PROJECT, approval.id, Decision.APPROVE)
    with pytest.raises(NotFound):
        await world.approvals.decide(ADMIN, PROJECT, "8f0d2c55-8a0e-4d59-9a39-3f1a6f0e7b11", Decision.DENY)
    with pytest.raises(InvalidInput):
        await world.approvals.decide(ADMIN, PROJECT, approval.id, None)
    with pytest.raises(InvalidInput):
        await world.approvals.decide(ADMIN, PROJECT, approval.id, Decision.DENY, "x" * 5000)
    # Members may read the list; non-members may not.
    assert len((await world.approvals.list(USER, PROJECT, None, 10, "")).items) == 1
    with pytest.raises(NotFound):
        await world.approvals.list(stranger, PROJECT, None, 10, "")


class WaitForSignal:
    """A tool that parks the turn until a wake for its key (as send_message_to_agent will)."""

    name = "wait_for_signal"
    description = "Wait until a signal arrives."
    parameters = {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}

    def validate_config(self, config):
        return config

    async def run(self, call: CallContext, arguments, config) -> Observation:
        return Observation("waiting", park=Park("signal", arguments["key"]))


async def test_any_tool_can_park_a_turn_until_a_wake_arrives() -> None:
    world = World(extra_tools=[WaitForSignal()])
    world.inference.script = [call("wait_for_signal", key="k-1"), answer_with_last_observation]
    agent = await world.agent()
    await world.grant(agent, "wait_for_signal")
    request = await world.send(agent, "wait")
    world.mailbox.take()

    await world.process(request)
    assert world.mailbox.take() == []
    assert await world.turns.wake(PROJECT, request.id, Wake("k-2", WakeOutcome.RESULT, "wrong key")) is None

    woken = await world.turns.wake(PROJECT, request.id, Wake("k-1", WakeOutcome.RESULT, "the signal: 7"))
    assert woken is not None and woken.status is MessageStatus.QUEUED
    await world.process(woken)

    assert world.messages.reply_to(request).content == "the signal: 7"
    (done,) = await calls(world)
    assert done.outcome is ToolCallOutcome.ALLOWED
