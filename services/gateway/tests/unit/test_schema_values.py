"""Every request schema applies the platform's input rules to every string and free-form value."""

from __future__ import annotations

import json
import math
import types
import typing
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from agentmesh_gateway.app import create_app
from agentmesh_gateway.schemas.accounts import LoginIn, ProjectIn, UserPatch
from agentmesh_gateway.schemas.messages import MessageIn
from agentmesh_gateway.schemas.schedules import ScheduleIn
from agentmesh_gateway.schemas.values import check_json_value, check_text_value
from agentmesh_gateway.settings import GatewaySettings

LONE = json.loads('"\\udc80"')
AGENT = "00000000-0000-4000-8000-000000000000"


def _validators(metadata: list[Any]) -> set[Any]:
    return {getattr(item, "func", None) for item in metadata}


def _unchecked(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """Where a str is not Text or a free-form value is not checked JSON."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _unchecked(base, [*metadata, *extra], where)
    validators = _validators(metadata)
    if check_json_value in validators:
        return []
    if annotation is str:
        return [] if check_text_value in validators else [where]
    if annotation is Any or typing.get_origin(annotation) is dict:
        return [where]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_unchecked(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        return [w for arg in typing.get_args(annotation) for w in _unchecked(arg, [], where)]
    return []


def _model_unchecked(model: type[BaseModel]) -> list[str]:
    fields: dict[str, FieldInfo] = model.model_fields
    return [w for name, f in fields.items() for w in _unchecked(f.annotation, f.metadata, f"{model.__name__}.{name}")]


def _request_models() -> set[type[BaseModel]]:
    app = create_app(GatewaySettings(database_url="postgresql://unused/db"))
    models: set[type[BaseModel]] = {LoginIn}  # the login route reads its body itself (JSON or form)
    for route in app.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            body = route.body_field.field_info.annotation
            # A JSON array body (PUT .../tools) is checked item by item.
            models.add(typing.get_args(body)[0] if typing.get_origin(body) is list else body)  # type: ignore[arg-type]
    return models


def test_every_request_string_and_free_form_value_is_checked() -> None:
    models = _request_models()
    assert {"ProjectIn", "AgentIn", "MessageIn", "MemoryIn", "SearchIn", "ScheduleIn"} <= {m.__name__ for m in models}
    assert [w for model in models for w in _model_unchecked(model)] == []


@pytest.mark.parametrize(
    "settings",
    [
        {"k": "nul \x00"},
        {"k": [LONE]},
        {LONE: 1},
        {"n": math.nan},
        {"n": math.inf},
        {"n": 2**64},
        json.loads('{"k":' * 21 + "1" + "}" * 21),
    ],
)
def test_free_form_json_is_refused_where_it_is_given(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        ProjectIn(name="p", settings=settings)
    [error] = refused.value.errors()
    assert error["loc"][0] == "settings" and error["type"] == "json_value"


def test_text_fields_refuse_nul_and_lone_surrogates() -> None:
    for bad in ("a\x00b", "a" + LONE):
        with pytest.raises(ValidationError, match="username"):
            LoginIn(username=bad, password="x")
        with pytest.raises(ValidationError, match="content"):
            MessageIn(content=bad)


def test_booleans_are_strict() -> None:
    assert UserPatch.model_validate({"is_active": False}).is_active is False
    for bad in (0, 1, "false", "no"):
        with pytest.raises(ValidationError, match="is_active"):
            UserPatch.model_validate({"is_active": bad})
    with pytest.raises(ValidationError, match="enabled"):
        ScheduleIn.model_validate({"agent_id": AGENT, "interval_seconds": 60, "payload": "x", "enabled": 0})


def test_schedule_times_are_normalised_to_utc_or_refused() -> None:
    body = {"agent_id": AGENT, "payload": "hi"}
    at = ScheduleIn.model_validate({**body, "run_at": "2030-01-01T09:00:00+02:00"}).run_at
    assert at == datetime(2030, 1, 1, 7, tzinfo=UTC) and at.tzinfo is UTC
    for edge in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        with pytest.raises(ValidationError, match="run_at"):
            ScheduleIn.model_validate({**body, "run_at": edge})


def test_schedule_payload_is_required_with_an_agent() -> None:
    with pytest.raises(ValidationError, match="'payload' is required with 'agent_id'"):
        ScheduleIn.model_validate({"agent_id": AGENT, "interval_seconds": 60})
    assert "agent_id with payload, or job" in ScheduleIn.model_json_schema()["description"]
