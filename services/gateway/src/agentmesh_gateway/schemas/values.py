"""Annotated types that apply the platform's input rules in every request schema.

The rules live in agentmesh_core (text.check_text, json_values.check_json) and
the services apply them too; the gateway applies them while it validates the
body, so bad input is a 422 naming the field before any call or write.

- `Text`: every string a client sends (no NUL, no lone surrogates).
- `JsonObject` / `JsonValue`: free-form JSON (depth, size, keys, finite
  numbers, integers within 2**53, strings as for Text).
- `UtcDatetime`: an aware datetime normalised to UTC; a time that UTC cannot
  represent (0001-01-01T00:00:00+14:00) is a 422, not an overflow.

services/gateway/tests/unit/test_schema_values.py checks that no request
schema has a str field without the Text rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from agentmesh_core.json_values import InvalidJson, check_json
from agentmesh_core.text import text_problem


def check_text_value(value: str) -> str:
    """The Text rule as a pydantic validator (pydantic names the field)."""
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("text", "{problem}", {"problem": problem})
    return value


def check_json_value(value: Any) -> Any:
    """The free-form JSON rule as a pydantic validator; says where in the value it failed."""
    try:
        return check_json(value, "value")
    except InvalidJson as error:
        where = f" (at {error.path.removeprefix('.')})" if error.path else ""
        raise PydanticCustomError(
            "json_value", "{problem}{where}", {"problem": error.problem, "where": where}
        ) from None


def to_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; refused when UTC cannot represent it."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "is out of the range of representable times") from None


Text = Annotated[str, AfterValidator(check_text_value)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_value)]
JsonValue = Annotated[Any, AfterValidator(check_json_value)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(to_utc)]
