"""Reading a model step: untrusted text in, a tool call, a final answer or a reason out."""

from __future__ import annotations

import json

import pytest

from agentmesh_agents.domain.steps import (
    FinalStep,
    InvalidStep,
    ToolStep,
    json_problem,
    parse_step,
    step_schema,
    storable,
)
from agentmesh_agents.domain.tool_models import ToolDefinition, ToolKind

CALC = ToolDefinition(
    "calculator", "math", {"type": "object", "properties": {"e": {"type": "string"}}}, ToolKind.BUILTIN
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"tool":"calculator","arguments":{"e":"1"}}', ToolStep("calculator", {"e": "1"})),
        ('{"tool":"calculator"}', ToolStep("calculator", {})),
        ('{"final":"done"}', FinalStep("done")),
        ('{"final":"line\nbreak"}', FinalStep("line\nbreak")),  # raw control characters pass
    ],
)
def test_valid_steps(text: str, expected) -> None:
    assert parse_step(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        '"text"',
        '{"tool": 5}',
        '{"tool": ""}',
        '{"final": 5}',
        '{"tool": "x", "arguments": {}, "also": 1}',
        '{"other": 1}',
        '{"tool": "x", "arguments": {"n": NaN}}',
        "[" * 100_000,
    ],
)
def test_invalid_steps_never_raise(text: str) -> None:
    assert isinstance(parse_step(text), InvalidStep)


def test_the_step_schema_offers_only_the_given_tools() -> None:
    schema = json.loads(step_schema([CALC], 12_000))
    tool_branch, final_branch = schema["anyOf"]
    assert tool_branch["properties"]["tool"] == {"const": "calculator"}
    assert tool_branch["properties"]["arguments"] == CALC.parameters
    assert final_branch["required"] == ["final"]
    assert json.loads(step_schema([], 12_000))["required"] == ["final"]


def test_a_schema_too_large_falls_back_to_a_name_enum() -> None:
    loose = json.loads(step_schema([CALC], 100))
    assert loose["anyOf"][0]["properties"]["tool"] == {"enum": ["calculator"]}


def test_json_problem_and_storable() -> None:
    assert json_problem({"a": [1, {"b": "ok"}]}) is None
    assert json_problem({"a": "nul\x00"}) is not None
    assert json_problem({"a": "\ud800"}) is not None
    assert json_problem({"a": float("inf")}) is not None
    deep: dict = {}
    node = deep
    for _ in range(30):
        node["x"] = {}
        node = node["x"]
    assert json_problem(deep) is not None
    assert storable({"a": 1}, 100) == {"a": 1}
    assert storable({"a": "x" * 500}, 100)["_raw"].startswith('{"a":"xxx')
    assert storable({"a": "nul\x00"}, 100) == {"_raw": '{"a":"nul\\u0000"}'}
    assert storable("text", 100) == {"_raw": '"text"'}
