"""Opaque offset cursors for list endpoints."""

from __future__ import annotations

import base64

from agentmesh_core.errors import InvalidInput

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Past any real list; larger offsets overflow PostgreSQL's bigint OFFSET (DataError -> INTERNAL).
MAX_OFFSET = 2**31 - 1


def page_size(requested: int) -> int:
    """Clamp a requested page size; 0 means the default."""
    if requested < 0:
        raise InvalidInput("page size must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_cursor(offset: int) -> str:
    """The cursor that resumes at offset."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The offset a cursor stands for; empty means the start."""
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None
    if kind != "o" or not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput("invalid cursor")
    return offset


def next_cursor(offset: int, returned: int, limit: int) -> str:
    """The cursor after a page, or "" when the page was the last."""
    return encode_cursor(offset + returned) if returned == limit else ""
