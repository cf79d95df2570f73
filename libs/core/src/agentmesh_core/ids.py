"""Identifiers: UUID4 strings everywhere, validated at the edges."""

from __future__ import annotations

import uuid

from agentmesh_core.errors import InvalidInput


def new_id() -> str:
    """A fresh random id."""
    return str(uuid.uuid4())


def parse_id(value: str, what: str = "id") -> str:
    """Return the canonical form of a UUID string, or raise InvalidInput."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"{what} must be a UUID") from None
