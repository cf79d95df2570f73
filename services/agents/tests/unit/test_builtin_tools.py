"""The built-in tools: exact arithmetic by parsing, time zones, memory kept inside the project."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.domain.builtin_tools import builtin_tools, definition_of
from agentmesh_agents.domain.builtin_tools.calculator import CalculationError, Calculator, evaluate, render
from agentmesh_agents.domain.builtin_tools.clock import CurrentTime
from agentmesh_agents.domain.builtin_tools.memory_tools import MemorySearch, MemoryStore
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.tool_models import ToolKind
from agentmesh_agents.domain.tooling import CallContext, argument_errors
from agentmesh_agents.domain.tools import arguments_schema
from agentmesh_core.errors import InvalidInput

CALL = CallContext("project-1", "agent-1", "message-1", "conversation-1", "call-1", timeout=5)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("0.1 + 0.2", Fraction(3, 10)),
        ("6*7", 42),
        ("2**10", 1024),
        ("2^10", 1024),
        ("-(3 - 5) * 4 / 8", 1),
        ("7 // 2 + 7 % 2", 4),
        ("1/3", Fraction(1, 3)),
        ("2 ** -2", Fraction(1, 4)),
        ("1e3 + 1_000", 2000),
        ("12345678901234567890 * 98765432109876543210", 12345678901234567890 * 98765432109876543210),
    ],
)
def test_calculator_is_exact(expression: str, value: Fraction) -> None:
    assert evaluate(expression) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('id')",
        "abs(-1)",
        "x + 1",
        "(1).real",
        "[1, 2]",
        "'a' * 3",
        "1 if 1 else 2",
        "2 ** 0.5",
        "10 ** 100000",
        "9 ** 9 ** 9",
        "1 / 0",
        "5 % 0",
        "0 ** -1",
        "1 < 2",
        "1j",
        "",
        "1 +",
        "1" * 250,
        "+".join(["1"] * 80),
    ],
)
def test_calculator_refuses_what_is_not_bounded_arithmetic(expression: str) -> None:
    with pytest.raises(CalculationError):
        evaluate(expression)


def test_calculator_renders_fractions_with_their_decimal_value() -> None:
    assert render(Fraction(42)) == "42"
    assert render(Fraction(1, 3)) == "1/3 (≈ 0.333333333333)"
    assert render(Fraction(-1, 4)) == "-1/4 (≈ -0.25)"


async def test_calculator_errors_are_error_observations() -> None:
    observation = await Calculator().run(CALL, {"expression": "1/0"}, {})
    assert observation.error and observation.text == "error: division by zero"
    assert (await Calculator().run(CALL, {"expression": "6*7"}, {})).text == "42"


async def test_current_time_is_time_zone_aware() -> None:
    tool = CurrentTime(clock=lambda: datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert (await tool.run(CALL, {}, {})).text == "2026-03-01T12:00:00+00:00 (Sunday, UTC)"
    paris = await tool.run(CALL, {"timezone": "Europe/Paris"}, {})
    assert paris.text == "2026-03-01T13:00:00+01:00 (Sunday, Europe/Paris)"
    tokyo = await tool.run(CALL, {}, tool.validate_config({"default_timezone": "Asia/Tokyo"}))
    assert tokyo.text.startswith("2026-03-01T21:00:00+09:00")
    assert (await tool.run(CALL, {"timezone": "Mars/Olympus"}, {})).error
    with pytest.raises(InvalidInput):
        tool.validate_config({"default_timezone": "Nowhere/Else"})
    with pytest.raises(InvalidInput):
        tool.validate_config({"other": 1})
    assert argument_errors(tool.parameters, {"timezone": "../../etc/passwd"}) is not None


async def test_memory_tools_use_the_call_context_project_and_agent() -> None:
    memory = StaticMemory(["fact one", "fact two"])
    search, store = MemorySearch(memory), MemoryStore(memory)
    found = await search.run(CALL, {"query": "facts", "k": 2}, {})
    assert found.text == "1. fact one\n2. fact two"
    assert memory.queries == [("project-1", "agent-1", "facts", 2)]
    stored = await store.run(CALL, {"content": "new fact"}, {})
    assert stored.text.startswith("stored (memory entry ")
    assert memory.stored == [("project-1", "agent-1", "new fact")]
    # No argument can name another project: the schemas refuse any field but their own.
    assert argument_errors(search.parameters, {"query": "x", "project_id": "other"}) is not None
    assert argument_errors(store.parameters, {"content": "x", "agent_id": "other"}) is not None
    assert (await MemorySearch(StaticMemory()).run(CALL, {"query": "x"}, {})).text == "no matching memory entries"


async def test_memory_store_run_again_for_the_same_step_stores_once() -> None:
    """A redelivered turn runs its step again: the store is keyed by the step, so memory keeps one entry."""
    memory = StaticMemory()
    store = MemoryStore(memory)
    first = await store.run(CALL, {"content": "the launch is on Friday"}, {})
    again = await store.run(CALL, {"content": "the launch is on Friday"}, {})
    next_step = await store.run(dataclasses.replace(CALL, step=1), {"content": "and the demo on Monday"}, {})
    assert first.text == again.text != next_step.text
    assert [content for _, _, content in memory.stored] == ["the launch is on Friday", "and the demo on Monday"]


def test_every_builtin_has_a_valid_schema_and_refuses_unknown_config() -> None:
    tools = builtin_tools(StaticMemory())
    assert sorted(t.name for t in tools) == ["calculator", "current_time", "memory_search", "memory_store"]
    for tool in tools:
        definition = definition_of(tool)
        assert definition.kind is ToolKind.BUILTIN
        arguments_schema(definition.parameters, Limits())
        assert tool.validate_config({}) == {}
        with pytest.raises(InvalidInput):
            tool.validate_config({"surprise": True})
