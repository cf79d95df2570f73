"""Shared pieces of the gateway's in-memory client fakes: identity check, clock, paging."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from agentmesh_core import pagination
from agentmesh_core.errors import InvalidInput, Unauthenticated
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


def _item_id(item: Any) -> str:
    return str(item.id)


def page(items: Sequence[T], limit: int, cursor: str, key: Callable[[T], str] = _item_id) -> Page[T]:
    """One page of items (given in list order) with a keyset cursor, like the services' lists.

    The cursor names the page's last item (by `key`, its id unless told): the next
    page starts after it wherever it now stands, so items added to the front do not
    shift it; only when that item is gone does the page start at its old position.
    """
    start = 0
    after = pagination.decode_keyset(cursor, 2)
    if after is not None:
        last_key, position = after
        if not (position.isascii() and position.isdigit()):
            raise InvalidInput("invalid cursor")
        keys = [key(item) for item in items]
        start = keys.index(last_key) + 1 if last_key in keys else int(position)
    chosen = list(items[start : start + limit])
    if len(chosen) < limit or not chosen:
        return Page(items=chosen, next_cursor=None)
    return Page(items=chosen, next_cursor=pagination.encode_keyset(key(chosen[-1]), str(start + len(chosen))))
