"""Cursors: opaque to clients, and a forged one is bad input, never a database error."""

from __future__ import annotations

import base64

import pytest

from agentmesh_core.errors import InvalidInput
from agentmesh_core.pagination import decode_cursor, encode_cursor, next_cursor


def test_cursor_round_trip_and_last_page() -> None:
    assert decode_cursor(encode_cursor(40)) == 40
    assert decode_cursor("") == 0
    assert next_cursor(0, 50, 50) == encode_cursor(50)
    assert next_cursor(50, 7, 50) == ""


@pytest.mark.parametrize("forged", ["o:-1", "o:99999999999999999999", "x:1", "o:abc", "no-colon"])
def test_forged_cursors_are_invalid_input(forged: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(base64.urlsafe_b64encode(forged.encode()).decode())


def test_garbage_cursor_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        decode_cursor("%%%")
