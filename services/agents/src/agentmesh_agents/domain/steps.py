"""One model step of a ReAct turn: the JSON it must produce, and reading what it produced.

The model's output is untrusted text. Structured output constrains it to the
step schema (a tool call naming one of the offered tools with arguments of
that tool's schema, or a final answer), but a scripted or misbehaving model
can still send anything: the parser never assumes the constraint held, and
the runtime validates the arguments against the tool's schema again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentmesh_agents.domain.tool_models import ToolDefinition

# Arguments deeper than this are refused: they cross gRPC as protobuf Structs in events.
ARGUMENTS_MAX_DEPTH = 16
_SAID_MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class ToolStep:
    """The model asks for a tool call (name and arguments as it gave them, unchecked)."""

    tool: str
    arguments: Any


@dataclass(frozen=True, slots=True)
class FinalStep:
    """The model gives its answer."""

    answer: str


@dataclass(frozen=True, slots=True)
class InvalidStep:
    """The output is neither; `reason` tells the model what was wrong."""

    reason: str


def _call_branch(tool: ToolDefinition) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"tool": {"const": tool.name}, "arguments": tool.parameters},
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }


_FINAL = {
    "type": "object",
    "properties": {"final": {"type": "string"}},
    "required": ["final"],
    "additionalProperties": False,
}


def step_schema(tools: Sequence[ToolDefinition], max_chars: int) -> str:
    """The JSON Schema of a step, as text: one branch per offered tool (its own arguments schema)
    and one for the final answer. When that grows past max_chars, the tool names become an enum
    and arguments any object (the runtime checks them against the tool's schema either way)."""
    if not tools:
        return json.dumps(_FINAL, separators=(",", ":"))
    exact = {"anyOf": [*(_call_branch(tool) for tool in tools), _FINAL]}
    text = json.dumps(exact, separators=(",", ":"))
    if len(text) <= max_chars:
        return text
    loose = {
        "type": "object",
        "properties": {"tool": {"enum": [tool.name for tool in tools]}, "arguments": {"type": "object"}},
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }
    return json.dumps({"anyOf": [loose, _FINAL]}, separators=(",", ":"))


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_step(text: str) -> ToolStep | FinalStep | InvalidStep:
    """What a model step says. Never raises: anything unreadable is an InvalidStep."""
    try:
        # strict=False: model strings may hold raw control characters (FACTS.md).
        value = json.loads(text, strict=False, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return InvalidStep("the step is not valid JSON")
    if not isinstance(value, dict):
        return InvalidStep("the step must be a JSON object")
    if "tool" in value:
        name = value["tool"]
        if not isinstance(name, str) or not name:
            return InvalidStep('"tool" must be a tool name')
        extra = set(value) - {"tool", "arguments"}
        if extra:
            return InvalidStep(f"unexpected field {sorted(extra)[0]!r} in a tool call")
        return ToolStep(name, value.get("arguments", {}))
    if "final" in value:
        answer = value["final"]
        if not isinstance(answer, str):
            return InvalidStep('"final" must be a string')
        return FinalStep(answer)
    return InvalidStep('the step must have "tool" and "arguments", or "final"')


def json_problem(value: Any, max_depth: int = ARGUMENTS_MAX_DEPTH) -> str | None:
    """Why a parsed value cannot be stored and carried as it is, or None."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > max_depth:
            return f"must not be nested more than {max_depth} levels deep"
        if isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key or has_surrogate(key):
                    return "keys must be valid text without NUL"
                pending.append((child, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if "\x00" in item or has_surrogate(item):
                return "strings must be valid text without NUL"
        elif isinstance(item, float) and not math.isfinite(item):
            return "numbers must be finite"
    return None


def has_surrogate(text: str) -> bool:
    return not text.isascii() and any("\ud800" <= char <= "\udfff" for char in text)


def storable(value: Any, max_chars: int) -> dict[str, Any]:
    """A copy of untrusted arguments fit for the audit: an object of bounded size, valid text.

    Anything else (not an object, too large, not storable as is) is kept as a cut,
    cleaned JSON text under "_raw", so the audit still shows what was asked.
    """
    if isinstance(value, dict) and json_problem(value) is None:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if len(text) <= max_chars:
            return value
    else:
        text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=str)
    return {"_raw": clean_text(text[:max_chars])}


def clean_text(text: str) -> str:
    """Model text made storable: NUL dropped, lone surrogates replaced."""
    text = text.replace("\x00", "")
    if has_surrogate(text):
        text = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


def said(tool: str, arguments: Any) -> str:
    """A tool step as the transcript shows it to the model again (compact JSON)."""
    text = json.dumps({"tool": tool, "arguments": arguments}, ensure_ascii=False, separators=(",", ":"), default=str)
    return clean_text(text[:_SAID_MAX_CHARS])
