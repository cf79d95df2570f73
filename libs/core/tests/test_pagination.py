"""Cursors: opaque to clients, and a forged one is bad input, never a database error."""

from __future__ import annotations

import base64

import pytest

from agentmesh_core.errors import InvalidInput
from agentmesh_core.pagination import decode_keyset, encode_keyset, next_time_key


def _offset_cursor(offset: int) -> str:
    """A cursor as lists made them before keysets."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


@pytest.mark.parametrize("forged", ["o:-1", "o:99999999999999999999", "x:1", "o:abc", "no-colon", "o:50"])
def test_offset_and_other_foreign_cursors_are_invalid_input(forged: str) -> None:
    with pytest.raises(InvalidInput, match="invalid cursor"):
        decode_keyset(base64.urlsafe_b64encode(forged.encode()).decode(), 2)


def test_garbage_cursor_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        decode_keyset("%%%", 2)


def test_keyset_cursors_round_trip_and_are_opaque() -> None:
    cursor = encode_keyset("2026-11-30T09:00:00.123456+00:00", "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1")
    assert "6a1f1bd2" not in cursor and "=" not in cursor
    assert decode_keyset(cursor, 2) == ("2026-11-30T09:00:00.123456+00:00", "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1")
    assert decode_keyset("", 2) is None


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # one character changed
    lambda c: c[1:],
    lambda c: c + "AAAA",
    lambda c: "x" * 600,
    lambda c: "!!!",
    lambda c: _offset_cursor(50),  # an offset cursor is not a keyset cursor
])  # fmt: skip
def test_edited_or_foreign_keyset_cursors_are_invalid(mangle) -> None:
    with pytest.raises(InvalidInput, match="invalid cursor"):
        decode_keyset(mangle(encode_keyset("2026-11-30T09:00:00+00:00", "id")), 2)


def test_a_keyset_cursor_of_another_shape_is_invalid() -> None:
    with pytest.raises(InvalidInput):
        decode_keyset(encode_keyset("only-one"), 2)


def test_time_keys_round_trip_and_refuse_what_they_did_not_make() -> None:
    from datetime import UTC, datetime

    from agentmesh_core.pagination import decode_time_key, encode_time_key

    at = datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=UTC)
    row = "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1"
    assert decode_time_key(encode_time_key(at, row)) == (at, row)
    assert decode_time_key("") is None
    for cursor in (encode_keyset("yesterday", row), encode_keyset(at.replace(tzinfo=None).isoformat(), row),
                   encode_keyset(at.isoformat(), "not-an-id")):  # fmt: skip
        with pytest.raises(InvalidInput, match="invalid cursor"):
            decode_time_key(cursor)


def test_next_time_key_resumes_after_a_full_page_only() -> None:
    from datetime import UTC, datetime

    from agentmesh_core.pagination import decode_time_key

    rows = [
        (datetime(2026, 11, 30, hour, tzinfo=UTC), f"6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a{hour}") for hour in range(3)
    ]
    assert decode_time_key(next_time_key(rows, 3, lambda row: row)) == rows[-1]
    assert next_time_key(rows, 4, lambda row: row) == ""  # a short page is the last
    assert next_time_key([], 0, lambda row: row) == ""
