"""Free-form JSON and stored text: one rule each, with messages that say which field and where."""

from __future__ import annotations

import json
import math

import pytest

from agentmesh_core.errors import InvalidInput
from agentmesh_core.json_values import JSON_LIMITS, InvalidJson, JsonLimits, check_json, json_size
from agentmesh_core.text import check_text, sanitize_text, text_problem

LONE = json.loads('"a\\udc80b"')  # what Python's JSON decoder makes of a lone surrogate escape


def nested(depth: int, leaf: object = 1, *, lists: bool = False) -> object:
    """`depth` containers around leaf: nested(1) == {"k": 1}."""
    value = leaf
    for _ in range(depth):
        value = [value] if lists else {"k": value}
    return value


def test_text_rule() -> None:
    assert text_problem("plain, accents é and emoji 🙂") is None
    assert text_problem(json.loads('"\\ud83d\\ude42"')) is None  # an escaped pair is one code point
    assert text_problem("a\x00b") and text_problem(LONE)
    assert check_text("ok", "name") == "ok"
    with pytest.raises(InvalidInput, match=r"^name must not contain NUL"):
        check_text("a\x00", "name")
    with pytest.raises(InvalidInput, match=r"^description must be valid Unicode"):
        check_text(LONE, "description")


def test_sanitize_makes_model_output_storable() -> None:
    assert sanitize_text("a\x00b" + LONE) == "ab" + "a\ufffdb"
    assert sanitize_text("fine 🙂") == "fine 🙂"
    assert text_problem(sanitize_text("\x00" + LONE)) is None


@pytest.mark.parametrize(
    "value",
    [
        None, True, 0, -(2**53), 2**53, 1.5, -1e308, "", "x", [], {},
        {"a": [1, {"b": None}], "c": "é🙂"},
        nested(JSON_LIMITS.max_depth), nested(JSON_LIMITS.max_depth, lists=True),
    ],
)  # fmt: skip
def test_accepted(value: object) -> None:
    assert check_json(value, "settings") is value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (nested(JSON_LIMITS.max_depth + 1), "settings.k.k.k.k.k.k... is nested more than 20 levels deep"),
        (nested(255, lists=True), "settings[0][0][0][0][0][0]... is nested more than 20 levels deep"),
        ({"a": "x\x00"}, "settings.a must not contain NUL characters"),
        ({"a": [LONE]}, "settings.a[0] must be valid Unicode (no lone surrogates)"),
        ({"x\x00": 1}, "settings keys must not contain NUL characters"),
        ({LONE: 1}, "settings keys must be valid Unicode (no lone surrogates)"),
        ({"a": {"k" * 300: 1}}, "settings.a keys must be at most 256 characters"),
        ({"n": math.nan}, "settings.n must be a finite number (no NaN or Infinity)"),
        ({"n": [math.inf]}, "settings.n[0] must be a finite number"),
        ({"n": -math.inf}, "settings.n must be a finite number"),
        ({"n": 2**53 + 1}, "settings.n must be an integer between"),
        ({"n": -(10**400)}, "settings.n must be an integer between"),
        ({"s": {1, 2}}, "settings.s must be JSON"),
        ({1: "x"}, "settings keys must be strings"),
        ({"a": "x" * (JSON_LIMITS.max_bytes + 1)}, "settings must be at most 65536 bytes as JSON"),
        ({str(i): 0 for i in range(1001)}, "settings must have at most 1000 keys"),
        ([[0] * 900 for _ in range(12)], "settings must hold at most 10000 values in all"),
        ({"\x00" * 40: {"k": "\x00"}}, "settings keys must not contain NUL"),
    ],
)
def test_refused(value: object, message: str) -> None:
    with pytest.raises(InvalidJson) as refused:
        check_json(value, "settings")
    assert refused.value.message.startswith(message), refused.value.message
    assert isinstance(refused.value, InvalidInput) and refused.value.field == "settings"
    assert text_problem(refused.value.message) is None  # safe to send back


def test_unreadable_keys_are_not_echoed() -> None:
    with pytest.raises(InvalidJson) as refused:
        check_json({"\x01" * 3: {LONE: {"k": math.nan}}, "long" * 20: [math.nan]}, "metadata")
    assert refused.value.path in (".*.*.k", ".*[0]") and text_problem(refused.value.message) is None


def test_field_caps_and_custom_limits() -> None:
    with pytest.raises(InvalidJson, match="content must be at most 10 bytes"):
        check_json("é" * 5, "content", max_bytes=10)  # 12 bytes with the quotes
    assert check_json("é" * 4, "content", max_bytes=10) == "é" * 4
    shallow = JsonLimits(max_depth=2)
    assert check_json(nested(2), "x", shallow)
    with pytest.raises(InvalidJson, match="nested more than 2"):
        check_json(nested(3), "x", shallow)


def test_json_size_is_compact_utf8() -> None:
    assert json_size({"a": [1, "é"]}) == len('{"a":[1,"é"]}'.encode())


def test_a_hostile_value_is_refused_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidJson, match="nested more than"):
        check_json(deep, "payload")
