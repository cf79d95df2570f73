"""The caller identity as it travels in gRPC metadata.

Incoming: the server interceptor verifies the signed token and binds the
Identity for the call (`caller()`). Outgoing: the client interceptor signs the
identity bound with `acting_as(...)`, or the incoming caller, onto each call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from agentmesh_core.errors import Unauthenticated
from agentmesh_core.identity import Identity

IDENTITY_METADATA_KEY = "x-agentmesh-identity"

_caller: ContextVar[Identity | None] = ContextVar("agentmesh_caller", default=None)


def caller() -> Identity:
    """The verified identity of the current call (or of the bound actor)."""
    identity = _caller.get()
    if identity is None:
        raise Unauthenticated("missing caller identity")
    return identity


def current_identity() -> Identity | None:
    """The bound identity, if any."""
    return _caller.get()


def set_caller(identity: Identity) -> None:
    """Bind identity for the rest of the current task (no reset).

    For streaming handlers: an async generator may be closed from another
    context, where resetting a ContextVar token fails. Each gRPC call runs in
    its own task, so the binding ends with the call anyway.
    """
    _caller.set(identity)


@contextlib.contextmanager
def acting_as(identity: Identity) -> Iterator[None]:
    """Make outgoing calls in this block on behalf of identity."""
    token = _caller.set(identity)
    try:
        yield
    finally:
        _caller.reset(token)
