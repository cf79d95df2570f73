"""One suite over the in-memory and PostgreSQL repositories for delegation and cancellation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentmesh_agents.adapters.agent_repository import SqlAgentRepository
from agentmesh_agents.adapters.approval_repository import SqlApprovalRepository
from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository
from agentmesh_agents.adapters.message_repository import SqlMessageRepository
from agentmesh_agents.adapters.tool_fakes import InMemoryApprovalRepository, InMemoryTurnRepository, ToolState
from agentmesh_agents.adapters.turn_repository import SqlTurnRepository
from agentmesh_agents.domain.models import Agent, Message, MessageStatus, Participant, ParticipantType
from agentmesh_agents.domain.tool_models import Approval, ApprovalStatus, ToolCallOutcome, ToolCallRecord
from agentmesh_agents.domain.turns import (
    APPROVAL,
    DELEGATION,
    Parked,
    ParkRecord,
    PendingCall,
    Step,
    TurnState,
    Wake,
    WakeOutcome,
    delegation_key,
)
from agentmesh_core.errors import FailedPrecondition

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _id() -> str:
    return str(uuid.uuid4())


@dataclass
class Repos:
    agents: Any
    messages: Any
    turns: Any
    approvals: Any


@pytest.fixture(params=["memory", "postgres"])
def repos(request) -> Repos:
    if request.param == "memory":
        agents = InMemoryAgentRepository()
        state = ToolState(agents)
        messages = InMemoryMessageRepository(agents, state)
        return Repos(
            agents, messages, InMemoryTurnRepository(state, messages), InMemoryApprovalRepository(state, messages)
        )
    db = request.getfixturevalue("db")
    return Repos(SqlAgentRepository(db), SqlMessageRepository(db), SqlTurnRepository(db), SqlApprovalRepository(db))


async def _agent(repos: Repos, project: str, name: str) -> Agent:
    return await repos.agents.add(Agent(id=_id(), project_id=project, name=name, created_at=T0, updated_at=T0))


async def _request(repos: Repos, project: str, to: Agent, sender: Participant, parent: str | None = None, minute=0):
    at = T0 + timedelta(minutes=minute)
    message = Message(
        id=_id(),
        project_id=project,
        conversation_id=_id(),
        sender=sender,
        receiver=Participant(ParticipantType.AGENT, to.id),
        content="do it",
        parent_id=parent,
        created_at=at,
        updated_at=at,
    )
    stored, created = await repos.messages.add(message)
    assert created
    return stored


def _reply(request: Message) -> Message:
    return replace(
        request,
        id=_id(),
        sender=request.receiver,
        receiver=request.sender,
        content="done",
        performative="reply",
        status=MessageStatus.COMPLETE,
        parent_id=request.id,
    )


async def test_agents_are_found_by_name_in_their_project_only(repos: Repos) -> None:
    project, other = _id(), _id()
    data = await _agent(repos, project, "data")
    await _agent(repos, other, "other")

    assert (await repos.agents.named(project, "data")).id == data.id
    assert await repos.agents.named(project, "other") is None
    assert await repos.agents.named(other, "data") is None


async def test_delegations_are_read_with_their_replies_and_unfinished_ones_found(repos: Repos) -> None:
    project = _id()
    manager, data, analysis = [await _agent(repos, project, name) for name in ("manager", "data", "analysis")]
    root = await _request(repos, project, manager, Participant(ParticipantType.USER, "u"))
    by_manager = Participant(ParticipantType.AGENT, manager.id)
    asked_data = await _request(repos, project, data, by_manager, parent=root.id, minute=1)
    asked_analysis = await _request(repos, project, analysis, by_manager, parent=root.id, minute=2)
    answered = await repos.messages.complete_with_reply(asked_data, _reply(asked_data))

    pairs = await repos.messages.with_replies(project, [asked_data.id, asked_analysis.id, _id()])
    found = {asked.id: (asked.status, reply.id if reply else None) for asked, reply in pairs}
    assert found == {
        asked_data.id: (MessageStatus.COMPLETE, answered.id),
        asked_analysis.id: (MessageStatus.QUEUED, None),
    }
    assert await repos.messages.with_replies(_id(), [asked_data.id]) == []
    assert await repos.messages.with_replies(project, []) == []
    # Only unfinished requests that an agent sent count as delegations of the root.
    assert [m.id for m in await repos.messages.delegated_from(project, root.id)] == [asked_analysis.id]
    assert await repos.messages.delegated_from(_id(), root.id) == []


async def test_a_wait_for_delegations_parks_wakes_expires_and_is_saved(repos: Repos) -> None:
    project = _id()
    manager = await _agent(repos, project, "manager")
    root = await _request(repos, project, manager, Participant(ParticipantType.USER, "u"))
    awaited = _id()
    transcript = (Step("asked", "asked data; waiting for the reply", awaited), Step("calc", "2"))
    parked = Parked(DELEGATION, delegation_key(root.id), None, T0 + timedelta(minutes=5))
    state = TurnState(root.id, project, manager.id, steps_used=2, tokens_used=30, transcript=transcript, parked=parked)

    assert await repos.turns.park(state, ParkRecord(None, None, MessageStatus.PROCESSING))
    stored = await repos.turns.get(root.id)
    assert (stored.parked, stored.transcript, stored.wake) == (parked, transcript, None)
    assert await repos.turns.expired_waits(DELEGATION, T0 + timedelta(minutes=4), 10) == []
    assert await repos.turns.expired_waits(APPROVAL, T0 + timedelta(minutes=6), 10) == []
    (due,) = await repos.turns.expired_waits(DELEGATION, T0 + timedelta(minutes=6), 10)
    assert due.message_id == root.id

    woken = await repos.turns.wake(project, root.id, Wake(delegation_key(root.id), WakeOutcome.RESULT))
    assert woken is not None and woken.status is MessageStatus.QUEUED
    assert await repos.turns.wake(project, root.id, Wake(delegation_key(root.id), WakeOutcome.RESULT)) is None
    assert await repos.turns.expired_waits(DELEGATION, T0 + timedelta(minutes=6), 10) == []

    await repos.turns.save(replace(state, parked=None, transcript=(Step("asked", "42 rows"),)))
    saved = await repos.turns.get(root.id)
    assert (saved.parked, saved.wake, saved.transcript) == (None, None, (Step("asked", "42 rows"),))


async def test_cancel_marks_the_message_and_drops_the_park_and_a_reply_is_refused_after(repos: Repos) -> None:
    project = _id()
    manager = await _agent(repos, project, "manager")
    root = await _request(repos, project, manager, Participant(ParticipantType.USER, "u"))
    parked = Parked(DELEGATION, delegation_key(root.id), None, T0)
    await repos.turns.park(
        TurnState(root.id, project, manager.id, parked=parked), ParkRecord(None, None, MessageStatus.PROCESSING)
    )

    cancelled = await repos.turns.cancel(project, root.id)

    assert cancelled.status is MessageStatus.CANCELLED
    assert (await repos.messages.get(project, root.id)).status is MessageStatus.CANCELLED
    assert (await repos.turns.get(root.id)).parked is None
    assert await repos.turns.cancel(project, root.id) is None  # final now
    assert await repos.turns.cancel(_id(), root.id) is None  # another project's
    with pytest.raises(FailedPrecondition):
        await repos.messages.complete_with_reply(root, _reply(root))
    assert [reply for _, reply in await repos.messages.with_replies(project, [root.id])] == [None]
    assert await repos.messages.set_status(project, root.id, MessageStatus.ERROR, "late") is None


async def test_cancel_expires_the_messages_pending_approvals(repos: Repos) -> None:
    project = _id()
    agent = await _agent(repos, project, "careful")
    root = await _request(repos, project, agent, Participant(ParticipantType.USER, "u"))
    call = ToolCallRecord(_id(), project, agent.id, root.id, "calculator", {"e": "1"}, ToolCallOutcome.PENDING, step=1,
                          created_at=T0)  # fmt: skip
    approval = Approval(_id(), project, agent.id, root.id, root.conversation_id, call.id, "calculator", {"e": "1"},
                        expires_at=T0 + timedelta(hours=1), created_at=T0)  # fmt: skip
    pending = PendingCall(call.id, _id(), "calculator", {"e": "1"}, "said", 1)
    call_message = replace(root, id=pending.message_id, performative="tool_call", status=MessageStatus.COMPLETE)
    state = TurnState(root.id, project, agent.id, parked=Parked(APPROVAL, approval.id, pending, approval.expires_at))
    assert await repos.turns.park(state, ParkRecord(call_message, call, MessageStatus.AWAITING_APPROVAL, approval))

    await repos.turns.cancel(project, root.id)

    expired = await repos.approvals.get(project, approval.id)
    assert (expired.status, expired.comment) == (ApprovalStatus.EXPIRED, "the message was cancelled")
    assert expired.decided_at is not None
