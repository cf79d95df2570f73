"""Request-scoped log context (request id, project, agent, message) in contextvars.

The request id follows a request across REST, gRPC metadata and NATS headers;
whoever receives one calls `bind(request_id=...)` so every log line carries it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

FIELDS = ("request_id", "project_id", "agent_id", "message_id")
_vars: dict[str, ContextVar[str | None]] = {name: ContextVar(name, default=None) for name in FIELDS}

REQUEST_ID_HEADER = "x-request-id"


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex


def current(name: str) -> str | None:
    """The bound value of one field."""
    return _vars[name].get()


def snapshot() -> dict[str, str]:
    """All bound fields, for log records and outgoing headers."""
    return {name: value for name, var in _vars.items() if (value := var.get())}


def set_fields(**fields: str | None) -> None:
    """Bind fields for the rest of the current task, with no reset (see bind)."""
    for name, value in fields.items():
        if value:
            _vars[name].set(value)


@contextlib.contextmanager
def bind(**fields: str | None) -> Iterator[None]:
    """Bind fields for the duration of a block (unknown names are an error)."""
    tokens = [(_vars[name], _vars[name].set(value)) for name, value in fields.items() if value]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
