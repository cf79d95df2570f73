"""Opaque, tamper-evident keyset cursors for list endpoints, and the page size rule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from agentmesh_core.errors import InvalidInput
from agentmesh_core.ids import parse_id

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def page_size(requested: int) -> int:
    """Clamp a requested page size; 0 means the default."""
    if requested < 0:
        raise InvalidInput("page size must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


# Keyset cursors: a page resumes after the last row's sort key, so rows inserted
# between two reads neither repeat nor skip items (an offset shifts under inserts;
# every list pages this way, and a cursor from the offset days is invalid input).
# The cursor is opaque (base64 of the key) and tamper-evident: a checksum over the
# key makes any edit an invalid cursor. It is not a secret and grants nothing: the
# query behind it is scoped by the caller's project as always.
_KEYSET_PREFIX = "k1"
_CHECK_BYTES = 8
_MAX_KEYSET_CURSOR = 512


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CHECK_BYTES, person=b"agentmesh-page").digest()


def encode_keyset(*key: str) -> str:
    """The cursor that resumes after a row whose sort key is `key` (strings, e.g. an ISO time and an id)."""
    payload = json.dumps([_KEYSET_PREFIX, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload + _checksum(payload)).decode().rstrip("=")


def decode_keyset(cursor: str, size: int) -> tuple[str, ...] | None:
    """The sort key a cursor resumes after (`size` strings); None for the first page.

    InvalidInput for anything this module did not make, including an offset cursor.
    """
    if not cursor:
        return None
    try:
        if len(cursor) > _MAX_KEYSET_CURSOR:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
        if not hmac.compare_digest(check, _checksum(payload)):
            raise ValueError
        prefix, *key = json.loads(payload)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None
    if prefix != _KEYSET_PREFIX or len(key) != size or not all(isinstance(part, str) for part in key):
        raise InvalidInput("invalid cursor")
    return tuple(key)


def encode_time_key(at: datetime, row_id: str) -> str:
    """A keyset cursor after the row created at `at` with id `row_id` (the usual sort key)."""
    return encode_keyset(at.isoformat(), row_id)


def decode_time_key(cursor: str) -> tuple[datetime, str] | None:
    """The (created_at, id) an encode_time_key cursor resumes after; None for the first page."""
    key = decode_keyset(cursor, 2)
    if key is None:
        return None
    try:
        at = datetime.fromisoformat(key[0])
    except ValueError:
        raise InvalidInput("invalid cursor") from None
    if at.tzinfo is None:
        raise InvalidInput("invalid cursor")
    try:
        return at, parse_id(key[1], "cursor")
    except InvalidInput:
        raise InvalidInput("invalid cursor") from None


def next_time_key(page: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, str]]) -> str:
    """The cursor after a full page sorted by a (time, id) key: it resumes after the page's last row.

    "" when the page was not full, i.e. the last one.
    """
    if not page or len(page) < limit:
        return ""
    return encode_time_key(*key(page[-1]))
