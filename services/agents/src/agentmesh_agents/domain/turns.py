"""A ReAct turn's state between deliveries, and parking: a turn that waits holds nothing but a row.

A turn is the work of answering one request. Its state (the steps so far, the
budgets used) is stored after every tool step, so a redelivered request goes
on from its last recorded step instead of running its tools again. A turn can
park: it stores what it waits for (an approval, or the replies of the agents it
delegated to), the request leaves the mailbox (acked), and no consumer or
coroutine waits. When the awaited thing happens, whoever saw it records a Wake
on the turn and posts the request to the agent's mailbox again: the same path
as a new message, so the agent's order holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from agentmesh_agents.domain.models import Message, MessageStatus
from agentmesh_agents.domain.tool_models import Approval, ToolCallRecord

APPROVAL = "approval"  # the park kind of a call waiting for a human
DELEGATION = "delegation"  # the park kind of a turn waiting for the replies of the agents it asked


def delegation_key(request_id: str) -> str:
    """The park key of a turn waiting for its delegations (one per turn, whatever their number)."""
    return f"{DELEGATION}:{request_id}"


@dataclass(frozen=True, slots=True)
class Step:
    """One step as the model sees it again: what it said, what it got back.

    `awaiting` names the delegated message whose reply is this step's observation
    while that reply is outstanding (the observation says so meanwhile).
    """

    said: str
    observation: str
    awaiting: str | None = None


@dataclass(frozen=True, slots=True)
class PendingCall:
    """The tool call a parked turn was making."""

    call_id: str  # its audit record
    message_id: str  # its tool_call message in the log
    tool: str
    arguments: dict[str, Any]
    said: str
    step: int


@dataclass(frozen=True, slots=True)
class Parked:
    """What a parked turn waits for: `kind` names the mechanism, `key` the awaited thing."""

    kind: str
    key: str
    call: PendingCall | None  # None for a turn waiting on its delegations (no call is pending)
    expires_at: datetime | None = None


class WakeOutcome(StrEnum):
    """How the wait ended."""

    APPROVED = "approved"  # run the pending call now
    DENIED = "denied"  # do not run it; tell the model
    EXPIRED = "expired"  # nobody answered in time (approval: the turn ends; delegation: error observations)
    RESULT = "result"  # the awaited thing happened; `text` is the call's observation (delegations: re-read)


@dataclass(frozen=True, slots=True)
class Wake:
    """Recorded on a parked turn when what it waited for happened."""

    key: str
    outcome: WakeOutcome
    text: str = ""
    by: str = ""


@dataclass(frozen=True, slots=True)
class TurnState:
    """Everything a turn needs to go on after a restart."""

    message_id: str
    project_id: str
    agent_id: str
    steps_used: int = 0
    tokens_used: int = 0
    active_ms: int = 0
    transcript: tuple[Step, ...] = ()
    parked: Parked | None = None
    wake: Wake | None = None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What one tool step writes, in one transaction, with the turn's new state.

    Messages already stored (a call message written when the turn parked) are
    skipped; the audit record is inserted, or updated when it exists (a pending
    call that ran after its approval).
    """

    messages: tuple[Message, ...]
    call: ToolCallRecord
    used_tool: str | None = None  # the grant whose last_used to touch


@dataclass(frozen=True, slots=True)
class ParkRecord:
    """What parking writes, in one transaction, with the turn's parked state."""

    call_message: Message | None  # None when no call is pending (a wait for delegations)
    call: ToolCallRecord | None
    status: MessageStatus
    approval: Approval | None = None
