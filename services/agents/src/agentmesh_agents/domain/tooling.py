"""The tool interface: what a tool is to the runtime, what a call knows, what it returns.

Every tool, built in or external, is a `Tool`: a name, a description, a JSON
Schema of its arguments, a check of its per-grant config, and `run`. The
runtime never runs a tool before the call passed the grant check and its
arguments passed the schema, so a tool may trust both. A tool never chooses
its project: the call context carries the agent's, and that is the only one a
tool may touch.

A tool that must wait for something outside the turn (a human) returns an
Observation with `park` set: the turn parks durably (see turns.py) and goes on
when a Wake for that key arrives. A tool that asked another agent and wants
its reply returns `awaiting` (the delegated message): the turn goes on, and
parks only when it needs the outstanding replies (domain/delegation.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from jsonschema import Draft202012Validator

from agentmesh_core.errors import InvalidInput

# A grant config that holds nothing: what a tool without settings accepts.
NO_CONFIG: dict[str, Any] = {"type": "object", "additionalProperties": False}


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who is calling and for what: the scope a tool must stay inside."""

    project_id: str
    agent_id: str
    message_id: str
    conversation_id: str
    call_id: str
    timeout: float  # seconds the tool may take (the runtime also enforces it)
    step: int = 0  # the turn's step that made the call (stable across redeliveries of the turn)


@dataclass(frozen=True, slots=True)
class Park:
    """A tool's request to park the turn until a Wake with this key arrives."""

    kind: str
    key: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """What a call gives back to the model; `error` marks a failed run."""

    text: str
    error: bool = False
    park: Park | None = None
    awaiting: str | None = None  # a delegated message whose reply becomes this call's observation


class Tool(Protocol):
    """A tool the runtime can run."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON Schema (an object schema) of the arguments."""
        ...

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The grant config normalised; InvalidInput when the tool cannot work with it."""
        ...

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        """Do the work; arguments already match `parameters`. Errors may raise AgentmeshError."""
        ...


def config_by_schema(schema: Mapping[str, Any], config: dict[str, Any], tool: str) -> dict[str, Any]:
    """A grant config checked against a schema (what most tools need)."""
    if not isinstance(config, dict):
        raise InvalidInput(f"config of {tool} must be a JSON object")
    errors = sorted(Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        raise InvalidInput(f"config of {tool} is invalid: {errors[0].message[:200]}")
    return config


def argument_errors(schema: Mapping[str, Any], arguments: Any) -> str | None:
    """Why arguments do not match a tool's schema (the first reason), or None."""
    if not isinstance(arguments, dict):
        return "arguments must be a JSON object"
    errors = sorted(Draft202012Validator(schema).iter_errors(arguments), key=lambda e: list(e.path))
    if not errors:
        return None
    first = errors[0]
    where = "/".join(str(part) for part in first.path)
    return f"{where + ': ' if where else ''}{first.message[:200]}"
