"""Shared pieces of the gateway's in-memory client fakes: identity check, clock, paging."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from agentmesh_core import pagination
from agentmesh_core.errors import (
    Unauthenticated,
)
from agentmesh_core.identity import require_project_access
from agentmesh_gateway.schemas.common import Page
from agentmesh_grpc.identity import current_identity

T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


def check(project_id: str, admin: bool = False) -> str:
    identity = current_identity()
    if identity is None:
        raise Unauthenticated("missing caller identity")
    require_project_access(identity, project_id, admin=admin)
    return identity.subject


def page(items: Sequence[T], limit: int, cursor: str) -> Page[T]:
    offset = pagination.decode_cursor(cursor)
    chosen = list(items[offset : offset + limit])
    return Page(items=chosen, next_cursor=pagination.next_cursor(offset, len(chosen), limit) or None)
