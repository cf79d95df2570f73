"""The one validation of free-form JSON (settings, model_config, content, metadata, payloads).

Every service runs `check_json` on every JSON field it accepts before it writes
anything, and the gateway's schemas run the same function, so a value is
refused with a 4xx before any call instead of failing half way (stored, then
unreadable). A value passes when every later step can carry it:

- depth: every JSON value crosses gRPC as a google.protobuf.Value, where one
  object level costs three message levels (Value, Struct, the map entry) and a
  list level two. protobuf's decoder stops at 100 levels, and the deepest
  carrier (StreamConversationEventsResponse > ConversationEvent > Message >
  Value) adds four, so 20 levels (at most 3 x 20 + 4 + 1 = 65) stay far below
  it. tests/contract/test_json_depth.py checks that margin with the real stubs.
- strings and keys: no NUL (PostgreSQL's jsonb refuses it) and no lone
  surrogates (no UTF-8 encoder takes them); see agentmesh_core.text.
- numbers: finite (JSON has no NaN or Infinity; Python's decoder turns 1e400
  into inf), and integers within +-2**53, because every JSON number travels as
  a protobuf double: a larger integer would change silently on the way.
- size: bounded compact UTF-8 JSON, a bounded number of keys per object and
  of values in all, so that a small body cannot expand into a costly one.

Fields with a tighter size cap (a message's content, memory metadata) pass
their own `max_bytes`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, TypeVar

from agentmesh_core.errors import InvalidInput
from agentmesh_core.text import text_problem

T = TypeVar("T")

_PATH_KEY_MAX = 32
_PATH_PARTS_MAX = 6


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """The bounds of a free-form JSON value; `JSON_LIMITS` holds the platform's defaults."""

    max_depth: int = 20
    max_bytes: int = 64 * 1024
    max_keys: int = 1000
    max_values: int = 10_000
    max_key_chars: int = 256
    max_integer: int = 2**53


JSON_LIMITS = JsonLimits()


class InvalidJson(InvalidInput):
    """A JSON value breaks a rule; `path` is where (".a.b[2]", "" for the value itself)."""

    def __init__(self, field: str, path: str, problem: str) -> None:
        super().__init__(f"{field}{path} {problem}")
        self.field = field
        self.path = path
        self.problem = problem


def _path(parts: tuple[str | int, ...]) -> str:
    """A readable location; keys that would not read well (long, unprintable) become '*'."""
    shown = []
    for part in parts[:_PATH_PARTS_MAX]:
        if isinstance(part, int):
            shown.append(f"[{part}]")
        elif part.isprintable() and len(part) <= _PATH_KEY_MAX and text_problem(part) is None:
            shown.append(f".{part}")
        else:
            shown.append(".*")
    if len(parts) > _PATH_PARTS_MAX:
        shown.append("...")
    return "".join(shown)


def _scalar_problem(value: object, limits: JsonLimits) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, int):
        if abs(value) > limits.max_integer:
            bound = limits.max_integer
            return f"must be an integer between -{bound} and {bound} (larger ones lose precision)"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number (no NaN or Infinity)"
    return "must be JSON (objects, arrays, strings, numbers, booleans or null)"


def check_json(value: T, field: str, limits: JsonLimits = JSON_LIMITS, *, max_bytes: int | None = None) -> T:
    """`value` unchanged when it keeps every rule above; InvalidJson naming `field` and where otherwise.

    The walk is iterative and stops at the first container past the depth limit,
    so a hostile value costs no recursion and little time.
    """
    pending: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    seen = 1
    while pending:
        item, depth, parts = pending.pop()
        if isinstance(item, dict | list):
            if depth >= limits.max_depth:
                raise InvalidJson(field, _path(parts), f"is nested more than {limits.max_depth} levels deep")
            seen += len(item)
            if seen > limits.max_values:
                raise InvalidJson(field, "", f"must hold at most {limits.max_values} values in all")
            if isinstance(item, list):
                pending.extend((child, depth + 1, (*parts, index)) for index, child in enumerate(item))
                continue
            if len(item) > limits.max_keys:
                raise InvalidJson(field, _path(parts), f"must have at most {limits.max_keys} keys")
            for key, child in item.items():
                _check_key(key, field, parts, limits)
                pending.append((child, depth + 1, (*parts, key)))
            continue
        problem = _scalar_problem(item, limits)
        if problem is not None:
            raise InvalidJson(field, _path(parts), problem)
    cap = limits.max_bytes if max_bytes is None else max_bytes
    if json_size(value) > cap:
        raise InvalidJson(field, "", f"must be at most {cap} bytes as JSON")
    return value


def _check_key(key: object, field: str, parts: tuple[str | int, ...], limits: JsonLimits) -> None:
    if not isinstance(key, str):
        raise InvalidJson(field, _path(parts), "keys must be strings")
    problem = text_problem(key)
    if problem is not None:
        raise InvalidJson(field, _path(parts), f"keys {problem}")
    if len(key) > limits.max_key_chars:
        raise InvalidJson(field, _path(parts), f"keys must be at most {limits.max_key_chars} characters")


def json_size(value: Any) -> int:
    """Bytes of a (checked) value as compact UTF-8 JSON."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
