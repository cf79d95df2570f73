"""calculator: exact arithmetic on rational numbers, by parsing, never by eval.

The expression is parsed with Python's `ast` into a tree of which only numbers,
+ - * / // % ** and parentheses are accepted, then folded with
`fractions.Fraction`, so 0.1 + 0.2 is exactly 3/10. Sizes are bounded at every
step (expression length, node count, exponent, digits of every intermediate
result), so no input can make it spin or eat memory.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from agentmesh_agents.domain.tooling import NO_CONFIG, CallContext, Observation, config_by_schema

MAX_EXPRESSION_CHARS = 200
MAX_NODES = 100
MAX_EXPONENT = 256
# Bits of any numerator or denominator along the way (about 1,200 decimal digits).
MAX_BITS = 4096
DECIMAL_PLACES = 12


class CalculationError(Exception):
    """The expression is not one the calculator takes; the text says why."""


_BINARY: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Mod: lambda a, b: a % b,
}


def _number(value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculationError("only numbers are allowed")
    if isinstance(value, int):
        return Fraction(value)
    try:
        # Through the decimal text, so that 0.1 is 1/10 and not the nearest binary fraction.
        return Fraction(Decimal(repr(value)))
    except (InvalidOperation, ValueError):
        raise CalculationError("numbers must be finite") from None


def _checked(value: Fraction) -> Fraction:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise CalculationError("a number grew too large")
    return value


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise CalculationError("exponents must be whole numbers")
    if abs(exponent) > MAX_EXPONENT:
        raise CalculationError(f"exponents must be between -{MAX_EXPONENT} and {MAX_EXPONENT}")
    # Bound the result before computing it: bits(base ** e) is about e * bits(base).
    bits = max(base.numerator.bit_length(), base.denominator.bit_length())
    if bits * abs(exponent.numerator) > MAX_BITS:
        raise CalculationError("a number grew too large")
    if base == 0 and exponent < 0:
        raise CalculationError("division by zero")
    return base**exponent.numerator


def _fold(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Expression):
        return _fold(node.body)
    if isinstance(node, ast.Constant):
        return _number(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _fold(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _fold(node.left), _fold(node.right)
        if isinstance(node.op, ast.Pow):
            return _checked(_power(left, right))
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise CalculationError("only + - * / // % ** and parentheses are allowed")
        if right == 0 and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
            raise CalculationError("division by zero")
        return _checked(operation(left, right))
    raise CalculationError("only numbers, + - * / // % ** and parentheses are allowed")


def evaluate(expression: str) -> Fraction:
    """The exact value of an arithmetic expression; CalculationError says what is wrong."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculationError(f"expressions must be at most {MAX_EXPRESSION_CHARS} characters")
    text = expression.replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/").strip()
    if not text:
        raise CalculationError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        raise CalculationError("the expression is not valid arithmetic") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculationError(f"expressions must have at most {MAX_NODES} parts")
    return _fold(tree)


def render(value: Fraction) -> str:
    """An integer as is; any other fraction as a/b with its decimal value beside it."""
    if value.denominator == 1:
        return str(value.numerator)
    decimal = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1).scaleb(-DECIMAL_PLACES))
    return f"{value.numerator}/{value.denominator} (≈ {decimal.normalize()})"


class Calculator:
    """The calculator tool."""

    name = "calculator"
    description = "Exact arithmetic: + - * / // % ** and parentheses on integers and decimals."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"expression": {"type": "string", "maxLength": MAX_EXPRESSION_CHARS}},
        "required": ["expression"],
        "additionalProperties": False,
    }
    restricted = False
    requires_approval = False

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return config_by_schema(NO_CONFIG, config, self.name)

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        try:
            return Observation(render(evaluate(arguments["expression"])))
        except CalculationError as error:
            return Observation(f"error: {error}", error=True)
