"""Request validation: every bad input is InvalidInput, defaults are resolved."""

from __future__ import annotations

import pytest

from agentmesh_core.errors import InvalidInput
from agentmesh_inference.domain.limits import Limits, validate
from agentmesh_inference.domain.models import ChatMessage, GenerationRequest, Sampling

LIMITS = Limits(max_tokens_cap=64, default_max_tokens=16, max_prompt_chars=100)


def request(**overrides) -> GenerationRequest:
    fields = {"prompt": "hello"} | overrides
    return GenerationRequest(**fields)


def test_defaults_are_resolved():
    validated = validate(request(), LIMITS)
    assert validated.max_tokens == 16
    assert validated.prompt == "hello" and validated.messages is None
    assert validated.temperature is None and validated.json_schema is None
    assert validated.request_id


def test_chat_request_keeps_messages():
    messages = (ChatMessage("system", "be brief"), ChatMessage("user", "hi"))
    validated = validate(request(prompt="", messages=messages), LIMITS)
    assert validated.messages == messages and validated.prompt is None


def test_request_ids_are_unique_but_keep_the_callers_id():
    first, second = (validate(request(request_id="trace-1"), LIMITS) for _ in range(2))
    assert first.request_id != second.request_id
    assert first.request_id.startswith("trace-1-")


def test_schema_is_parsed():
    validated = validate(request(json_schema='{"type": "object"}'), LIMITS)
    assert validated.json_schema == {"type": "object"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"prompt": ""}, "exactly one"),
        ({"messages": (ChatMessage("user", "hi"),)}, "exactly one"),
        ({"prompt": "x" * 101}, "too long"),
        ({"prompt": "", "messages": (ChatMessage("tool", "hi"),)}, "role"),
        ({"sampling": Sampling(max_tokens=65)}, "max_tokens"),
        ({"sampling": Sampling(max_tokens=-1)}, "max_tokens"),
        ({"sampling": Sampling(temperature=2.5)}, "temperature"),
        ({"sampling": Sampling(temperature=-0.1)}, "temperature"),
        ({"sampling": Sampling(temperature=float("nan"))}, "temperature"),
        ({"sampling": Sampling(top_p=0.0)}, "top_p"),
        ({"sampling": Sampling(top_p=1.5)}, "top_p"),
        ({"sampling": Sampling(stop=("",))}, "stop"),
        ({"sampling": Sampling(stop=tuple(str(i) for i in range(9)))}, "stop"),
        ({"json_schema": "{not json"}, "json_schema"),
        ({"json_schema": "[1, 2]"}, "json_schema"),
        ({"request_id": "r" * 129}, "request_id"),
    ],
)
def test_bad_input_is_rejected(overrides, message):
    with pytest.raises(InvalidInput, match=message):
        validate(request(**overrides), LIMITS)


def test_limits_at_the_edges_pass():
    sampling = Sampling(max_tokens=64, temperature=0.0, top_p=1.0, stop=("\n",))
    validated = validate(request(prompt="x" * 100, sampling=sampling), LIMITS)
    assert (validated.max_tokens, validated.temperature, validated.top_p) == (64, 0.0, 1.0)
