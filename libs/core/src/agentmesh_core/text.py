"""The one rule for text the platform stores, and the way to make model output follow it.

PostgreSQL's text and jsonb cannot hold NUL (U+0000), and a lone surrogate
(U+D800-U+DFFF outside a pair, which Python's JSON decoder lets through from a
"\\udc80" escape) cannot be encoded as UTF-8 at all: neither protobuf, nor the
database driver, nor a JSON response can carry it. Client text with either is
refused at the edge (InvalidInput); text the platform produces itself (model
replies) is sanitised instead, so one odd token cannot fail a whole message.
"""

from __future__ import annotations

import re

from agentmesh_core.errors import InvalidInput

# Python's JSON decoder joins valid escaped pairs into one code point, so any
# surrogate left in a str is a lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")
NUL_PROBLEM = "must not contain NUL characters"
SURROGATE_PROBLEM = "must be valid Unicode (no lone surrogates)"


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a phrase such as "must not contain ..."), or None."""
    if "\x00" in value:
        return NUL_PROBLEM
    if not value.isascii() and _SURROGATE.search(value):
        return SURROGATE_PROBLEM
    return None


def check_text(value: str, field: str) -> str:
    """`value` unchanged, or InvalidInput naming `field` when it holds NUL or a lone surrogate."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}")
    return value


def sanitize_text(value: str) -> str:
    """Text the platform produced, made storable: NUL dropped, lone surrogates replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii() and _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return value
