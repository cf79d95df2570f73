"""One suite over the in-memory and PostgreSQL tool repositories, so the fakes stay honest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentmesh_agents.adapters.agent_repository import SqlAgentRepository
from agentmesh_agents.adapters.approval_repository import SqlApprovalRepository, SqlToolCallRepository
from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository
from agentmesh_agents.adapters.message_repository import SqlMessageRepository
from agentmesh_agents.adapters.tool_fakes import (
    InMemoryApprovalRepository,
    InMemoryGrantRepository,
    InMemoryToolCallRepository,
    InMemoryToolRepository,
    InMemoryTurnRepository,
    ToolState,
)
from agentmesh_agents.adapters.tool_repository import SqlGrantRepository, SqlToolRepository
from agentmesh_agents.adapters.turn_repository import SqlTurnRepository
from agentmesh_agents.domain.models import Agent, Message, MessageFilter, MessageStatus, Participant, ParticipantType
from agentmesh_agents.domain.tool_models import (
    Approval,
    ApprovalStatus,
    Grant,
    ToolCallFilter,
    ToolCallOutcome,
    ToolCallRecord,
    ToolDefinition,
    ToolKind,
)
from agentmesh_agents.domain.turns import (
    APPROVAL,
    Parked,
    ParkRecord,
    PendingCall,
    Step,
    StepRecord,
    TurnState,
    Wake,
    WakeOutcome,
)
from agentmesh_core.errors import AlreadyExists, NotFound

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCHEMA = {"type": "object", "properties": {"e": {"type": "string"}}}


def _id() -> str:
    return str(uuid.uuid4())


@dataclass
class Repos:
    agents: Any
    messages: Any
    tools: Any
    grants: Any
    calls: Any
    approvals: Any
    turns: Any


@pytest.fixture(params=["memory", "postgres"])
def repos(request) -> Repos:
    if request.param == "memory":
        agents = InMemoryAgentRepository()
        state = ToolState(agents)
        messages = InMemoryMessageRepository(agents, state)
        return Repos(
            agents,
            messages,
            InMemoryToolRepository(state),
            InMemoryGrantRepository(state),
            InMemoryToolCallRepository(state),
            InMemoryApprovalRepository(state, messages),
            InMemoryTurnRepository(state, messages),
        )
    db = request.getfixturevalue("db")
    return Repos(
        SqlAgentRepository(db),
        SqlMessageRepository(db),
        SqlToolRepository(db),
        SqlGrantRepository(db),
        SqlToolCallRepository(db),
        SqlApprovalRepository(db),
        SqlTurnRepository(db),
    )


def _tool(name: str, kind: ToolKind = ToolKind.BUILTIN, **fields) -> ToolDefinition:
    values = {"description": f"{name} does things", "parameters": SCHEMA, "created_at": T0, "updated_at": T0}
    return ToolDefinition(name=name, kind=kind, **{**values, **fields})


async def _world(repos: Repos) -> tuple[str, Agent, Message]:
    """A project with an agent that has the calculator, and a request to it."""
    project = _id()
    agent = await repos.agents.add(Agent(id=_id(), project_id=project, name="a", created_at=T0, updated_at=T0))
    await repos.tools.seed(_tool("calculator"))
    await repos.grants.replace(project, agent.id, [Grant("calculator")], T0)
    request, _ = await repos.messages.add(
        Message(
            id=_id(),
            project_id=project,
            conversation_id=_id(),
            sender=Participant(ParticipantType.USER, "u"),
            receiver=Participant(ParticipantType.AGENT, agent.id),
            content="compute",
            created_at=T0,
            updated_at=T0,
        )
    )
    return project, agent, request


def _call(project: str, agent: Agent, request: Message, **fields) -> ToolCallRecord:
    values = {"outcome": ToolCallOutcome.PENDING, "step": 1, "created_at": T0 + timedelta(seconds=1)}
    return ToolCallRecord(
        id=_id(),
        project_id=project,
        agent_id=agent.id,
        message_id=request.id,
        tool="calculator",
        arguments={"e": "1+1"},
        **{**values, **fields},
    )


def _step_message(request: Message, agent: Agent, performative: str, parent: str, minute: int = 1) -> Message:
    at = T0 + timedelta(minutes=minute)
    return replace(
        request,
        id=_id(),
        sender=Participant(ParticipantType.AGENT, agent.id),
        receiver=Participant(ParticipantType.SYSTEM, "tool:calculator"),
        content={"tool": "calculator"},
        performative=performative,
        status=MessageStatus.COMPLETE,
        parent_id=parent,
        created_at=at,
        updated_at=at,
    )


async def _park(
    repos: Repos, project: str, agent: Agent, request: Message, at: datetime = T0
) -> tuple[Approval, ToolCallRecord]:
    call = _call(project, agent, request)
    approval = Approval(
        id=_id(),
        project_id=project,
        agent_id=agent.id,
        message_id=request.id,
        conversation_id=request.conversation_id,
        tool_call_id=call.id,
        tool="calculator",
        arguments=call.arguments,
        expires_at=T0 + timedelta(hours=1),
        created_at=at,
    )
    call_message = _step_message(request, agent, "tool_call", request.id)
    pending = PendingCall(call.id, call_message.id, "calculator", call.arguments, "{}", 1)
    state = TurnState(
        request.id,
        project,
        agent.id,
        steps_used=1,
        tokens_used=10,
        active_ms=5,
        transcript=(Step("said", "seen"),),
        parked=Parked(APPROVAL, approval.id, pending, approval.expires_at),
    )
    assert await repos.turns.park(state, ParkRecord(call_message, call, MessageStatus.AWAITING_APPROVAL, approval))
    return approval, call


async def test_the_catalog_round_trips_and_seeding_keeps_switches(repos: Repos) -> None:
    await repos.tools.seed(_tool("calculator"))
    assert await repos.tools.add(_tool("web.search", ToolKind.MCP)) == _tool("web.search", ToolKind.MCP)
    with pytest.raises(AlreadyExists):
        await repos.tools.add(_tool("calculator", ToolKind.MCP))
    switched = await repos.tools.update(_tool("calculator", enabled=False, restricted=True))
    assert (switched.enabled, switched.restricted, switched.kind) == (False, True, ToolKind.BUILTIN)
    await repos.tools.seed(_tool("calculator", description="new words", updated_at=T0 + timedelta(days=1)))
    seeded = await repos.tools.get("calculator")
    assert (seeded.description, seeded.enabled, seeded.restricted) == ("new words", False, True)
    assert [t.name for t in await repos.tools.list(None, 10)] == ["calculator", "web.search"]
    assert [t.name for t in await repos.tools.list("calculator", 10)] == ["web.search"]
    assert await repos.tools.update(_tool("missing.tool")) is None
    assert await repos.tools.get("missing.tool") is None


async def test_grants_are_scoped_replaced_and_go_with_their_agent(repos: Repos) -> None:
    project, agent, _ = await _world(repos)
    await repos.tools.seed(_tool("current_time"))
    (granted,) = await repos.grants.for_agent(project, agent.id)
    assert granted.tool.name == "calculator" and granted.grant == Grant("calculator")
    assert await repos.grants.for_agent(_id(), agent.id) == []
    assert await repos.grants.find(_id(), agent.id, "calculator") is None

    replaced = await repos.grants.replace(
        project, agent.id, [Grant("current_time", {"default_timezone": "UTC"}, True), Grant("calculator")], T0
    )
    assert [(g.tool.name, g.grant.config, g.grant.requires_approval) for g in replaced] == [
        ("calculator", {}, None),
        ("current_time", {"default_timezone": "UTC"}, True),
    ]
    found = await repos.grants.find(project, agent.id, "current_time")
    assert found is not None and found.needs_approval
    with pytest.raises(NotFound):
        await repos.grants.replace(_id(), agent.id, [], T0)
    with pytest.raises(NotFound):
        await repos.grants.replace(project, agent.id, [Grant("no.such.tool")], T0)
    await repos.agents.delete(project, agent.id)
    assert await repos.grants.for_agent(project, agent.id) == []


async def test_parking_stores_the_call_the_approval_and_the_state(repos: Repos) -> None:
    project, agent, request = await _world(repos)
    approval, call = await _park(repos, project, agent, request)

    assert (await repos.messages.get(project, request.id)).status is MessageStatus.AWAITING_APPROVAL
    assert await repos.approvals.get(project, approval.id) == approval
    assert await repos.approvals.get(_id(), approval.id) is None
    (audited,) = await repos.calls.list(project, ToolCallFilter(message_id=request.id), None, 10)
    assert audited == call
    state = await repos.messages.delivery_state(project, agent.id, request.id)
    assert state.turn is not None and state.turn.parked is not None
    assert state.turn.parked.key == approval.id and state.turn.transcript == (Step("said", "seen"),)
    assert (state.turn.steps_used, state.turn.tokens_used, state.turn.active_ms) == (1, 10, 5)
    assert [g.tool.name for g in state.grants] == ["calculator"]
    # A final request is never parked.
    await repos.messages.set_status(project, request.id, MessageStatus.ERROR, "gone")
    parked_again = await repos.turns.park(
        state.turn, ParkRecord(_step_message(request, agent, "tool_call", request.id), call, MessageStatus.PROCESSING)
    )
    assert not parked_again
    # An agent whose grants are all taken away reads none (they are read only when there are some).
    await repos.grants.replace(project, agent.id, [], T0)
    assert (await repos.messages.delivery_state(project, agent.id, request.id)).grants == ()


async def test_deciding_wakes_the_turn_and_requeues_the_request_once(repos: Repos) -> None:
    project, agent, request = await _world(repos)
    approval, _ = await _park(repos, project, agent, request)
    await repos.messages.mark_published(project, [request.id], T0)
    decided = replace(approval, status=ApprovalStatus.DENIED, decided_by="admin", comment="no", decided_at=T0)
    wake = Wake(approval.id, WakeOutcome.DENIED, "no", "admin")

    pending, requeued = await repos.approvals.decide(decided, wake, ToolCallOutcome.DENIED)

    assert pending and requeued is not None and requeued.status is MessageStatus.QUEUED
    assert await repos.approvals.get(project, approval.id) == decided
    (audited,) = await repos.calls.list(project, ToolCallFilter(), None, 10)
    assert audited.outcome is ToolCallOutcome.DENIED
    state = await repos.messages.delivery_state(project, agent.id, request.id)
    assert state.turn.wake == wake
    # Unpublished again: the recovery sweep posts it if the post after the decision fails.
    due = await repos.messages.due_for_publish(datetime.now(UTC) + timedelta(days=1), T0, 10)
    assert request.id in {m.id for m in due}
    assert await repos.approvals.decide(decided, wake, None) == (False, None)
    assert await repos.turns.wake(project, request.id, wake) is None


async def test_a_wake_needs_the_key_the_turn_waits_on(repos: Repos) -> None:
    project, agent, request = await _world(repos)
    approval, _ = await _park(repos, project, agent, request)
    assert await repos.turns.wake(project, request.id, Wake("other", WakeOutcome.RESULT)) is None
    assert await repos.turns.wake(_id(), request.id, Wake(approval.id, WakeOutcome.RESULT)) is None
    woken = await repos.turns.wake(project, request.id, Wake(approval.id, WakeOutcome.RESULT, "7"))
    assert woken is not None and woken.id == request.id


async def test_approvals_list_by_status_and_expire(repos: Repos) -> None:
    project, agent, request = await _world(repos)
    approval, _ = await _park(repos, project, agent, request)
    assert [a.id for a in await repos.approvals.list(project, ApprovalStatus.PENDING, None, 10)] == [approval.id]
    assert await repos.approvals.list(project, ApprovalStatus.DENIED, None, 10) == []
    assert await repos.approvals.list(_id(), None, None, 10) == []
    assert await repos.approvals.expiring(T0, 10) == []
    assert [a.id for a in await repos.approvals.expiring(T0 + timedelta(hours=2), 10)] == [approval.id]


async def test_a_step_writes_its_messages_audit_and_state_once(repos: Repos) -> None:
    project, agent, request = await _world(repos)
    call = _call(project, agent, request, outcome=ToolCallOutcome.ALLOWED, duration_ms=3)
    call_message = _step_message(request, agent, "tool_call", request.id, minute=1)
    result = _step_message(request, agent, "tool_result", call_message.id, minute=2)
    state = TurnState(request.id, project, agent.id, steps_used=1, transcript=(Step("a", "b"),))

    await repos.turns.record_step(state, StepRecord((call_message, result), call, used_tool="calculator"))
    again = replace(call, outcome=ToolCallOutcome.ERROR, error="boom")
    await repos.turns.record_step(replace(state, steps_used=2), StepRecord((call_message, result), again))

    (audited,) = await repos.calls.list(project, ToolCallFilter(agent_id=agent.id), None, 10)
    assert (audited.outcome, audited.error, audited.duration_ms) == (ToolCallOutcome.ERROR, "boom", 3)
    stored = await repos.turns.get(request.id)
    assert stored.steps_used == 2 and stored.parked is None and stored.wake is None
    (granted,) = await repos.grants.for_agent(project, agent.id)
    assert granted.grant.last_used == call.created_at
    log = await repos.messages.list(project, MessageFilter(conversation_id=request.conversation_id), None, 10)
    assert sorted(m.performative for m in log) == ["request", "tool_call", "tool_result"]
    # The steps are not conversation: a later prompt's history leaves them out.
    later = replace(request, id=_id(), created_at=T0 + timedelta(hours=1), updated_at=T0 + timedelta(hours=1))
    await repos.messages.add(later)
    assert await repos.messages.begin_processing(later, 10) == []
    # Deleting the project's messages takes its turns, approvals and calls along.
    await repos.messages.delete_project(project)
    assert await repos.calls.list(project, ToolCallFilter(), None, 10) == []
    assert await repos.turns.get(request.id) is None


async def test_catalog_pages_by_name_neither_repeat_nor_skip_while_tools_are_added(repos: Repos) -> None:
    for name in ("b1", "b3", "b5", "b7"):
        await repos.tools.seed(_tool(name))
    first = await repos.tools.list(None, 2)
    await repos.tools.seed(_tool("a0"))  # sorts before the page read: not shown, nothing shifts
    await repos.tools.seed(_tool("b4"))  # sorts after it: shown once, in its place
    second = await repos.tools.list(first[-1].name, 2)
    rest = await repos.tools.list(second[-1].name, 2)
    assert [t.name for t in first + second + rest] == ["b1", "b3", "b4", "b5", "b7"]


async def test_audit_pages_neither_repeat_nor_skip_while_calls_arrive(repos: Repos) -> None:
    project, agent, request = await _world(repos)
    state = TurnState(request.id, project, agent.id)

    async def record(at: datetime) -> ToolCallRecord:
        call = _call(project, agent, request, created_at=at)
        await repos.turns.record_step(state, StepRecord((), call))
        return call

    calls = [await record(T0 + timedelta(seconds=n)) for n in range(5)]
    calls.append(await record(T0 + timedelta(seconds=2)))  # a tie on time: the id orders the two
    expected = sorted(calls, key=lambda c: (c.created_at, c.id), reverse=True)
    seen: list[ToolCallRecord] = []
    before = None
    for round_ in range(10):
        page = await repos.calls.list(project, ToolCallFilter(), before, 2)
        seen += page
        if len(page) < 2:
            break
        before = (page[-1].created_at, page[-1].id)
        await record(T0 + timedelta(hours=1, seconds=round_))  # newer than every page read: an offset repeats
    assert [c.id for c in seen] == [c.id for c in expected]


async def test_approvals_pages_neither_repeat_nor_skip_while_approvals_arrive(repos: Repos) -> None:
    project, agent, first_request = await _world(repos)

    async def park(minute: int) -> Approval:
        at = T0 + timedelta(minutes=minute)
        request = replace(first_request, id=_id(), conversation_id=_id(), created_at=at, updated_at=at)
        await repos.messages.add(request)
        approval, _ = await _park(repos, project, agent, request, at)
        return approval

    approvals = [await park(n) for n in range(5)]
    expected = sorted(approvals, key=lambda a: (a.created_at, a.id), reverse=True)
    seen: list[Approval] = []
    before = None
    for round_ in range(10):
        page = await repos.approvals.list(project, ApprovalStatus.PENDING, before, 2)
        seen += page
        if len(page) < 2:
            break
        before = (page[-1].created_at, page[-1].id)
        await park(100 + round_)  # newer than every page read: an offset would repeat the last one read
    assert [a.id for a in seen] == [a.id for a in expected]
