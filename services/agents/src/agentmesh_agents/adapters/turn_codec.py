"""A turn's state as the `turns` row keeps it (JSONB columns), and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from agentmesh_agents.domain.turns import Parked, PendingCall, Step, TurnState, Wake, WakeOutcome


def _parked_json(parked: Parked) -> dict[str, Any]:
    call = parked.call
    return {
        "kind": parked.kind,
        "key": parked.key,
        "expires_at": parked.expires_at.isoformat() if parked.expires_at else None,
        "call": None
        if call is None
        else {
            "call_id": call.call_id,
            "message_id": call.message_id,
            "tool": call.tool,
            "arguments": call.arguments,
            "said": call.said,
            "step": call.step,
        },
    }


def _parked(data: dict[str, Any]) -> Parked:
    call = data.get("call")
    expires = data.get("expires_at")
    return Parked(
        kind=data["kind"],
        key=data["key"],
        expires_at=datetime.fromisoformat(expires) if expires else None,
        call=None
        if call is None
        else PendingCall(
            call_id=call["call_id"],
            message_id=call["message_id"],
            tool=call["tool"],
            arguments=dict(call["arguments"]),
            said=call["said"],
            step=int(call["step"]),
        ),
    )


def _step_json(step: Step) -> dict[str, Any]:
    data = {"said": step.said, "observation": step.observation}
    if step.awaiting is not None:
        data["awaiting"] = step.awaiting
    return data


def wake_json(wake: Wake) -> dict[str, Any]:
    """A wake as the `wake` column holds it."""
    return {"key": wake.key, "outcome": wake.outcome.value, "text": wake.text, "by": wake.by}


def _wake(data: dict[str, Any]) -> Wake:
    return Wake(key=data["key"], outcome=WakeOutcome(data["outcome"]), text=data.get("text", ""), by=data.get("by", ""))


def turn_values(state: TurnState) -> dict[str, Any]:
    """The `turns` columns for a state (the wake is cleared: a stored state has consumed it)."""
    return {
        "project_id": state.project_id,
        "agent_id": state.agent_id,
        "steps_used": state.steps_used,
        "tokens_used": state.tokens_used,
        "active_ms": state.active_ms,
        "transcript": [_step_json(step) for step in state.transcript],
        "parked": _parked_json(state.parked) if state.parked else None,
        "park_key": state.parked.key if state.parked else None,
        "wake": None,
    }


def to_turn(row: Row[Any]) -> TurnState:
    """A `turns` row as the domain's TurnState."""
    return TurnState(
        message_id=row.message_id,
        project_id=row.project_id,
        agent_id=row.agent_id,
        steps_used=row.steps_used,
        tokens_used=row.tokens_used,
        active_ms=row.active_ms,
        transcript=tuple(
            Step(item["said"], item["observation"], item.get("awaiting")) for item in row.transcript or ()
        ),
        parked=_parked(row.parked) if row.parked else None,
        wake=_wake(row.wake) if row.wake else None,
    )
