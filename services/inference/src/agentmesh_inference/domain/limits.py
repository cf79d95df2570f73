"""Limits on what one generation request may ask for, and their validation."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from agentmesh_core.errors import InvalidInput
from agentmesh_inference.domain.models import GenerationRequest, Role, ValidatedRequest

_ROLES = frozenset(role.value for role in Role)


@dataclass(frozen=True, slots=True)
class Limits:
    """Server-side bounds; the service's settings fill them in and take their defaults from here."""

    max_tokens_cap: int = 512
    default_max_tokens: int = 128
    max_prompt_chars: int = 32_000
    max_messages: int = 256
    max_stop_strings: int = 8
    max_stop_chars: int = 64
    max_schema_chars: int = 16_000
    max_request_id_chars: int = 128


def validate(request: GenerationRequest, limits: Limits) -> ValidatedRequest:
    """Check a request against the limits and resolve its defaults; raise InvalidInput."""
    has_prompt, has_messages = bool(request.prompt), bool(request.messages)
    if has_prompt == has_messages:
        raise InvalidInput("exactly one of prompt or messages must be set")
    total_chars = len(request.prompt) + sum(len(m.content) for m in request.messages)
    if total_chars > limits.max_prompt_chars:
        raise InvalidInput(f"prompt too long: at most {limits.max_prompt_chars} characters")
    if len(request.messages) > limits.max_messages:
        raise InvalidInput(f"too many messages: at most {limits.max_messages}")
    for message in request.messages:
        if message.role not in _ROLES:
            raise InvalidInput("message role must be one of system, user, assistant")
    sampling = request.sampling
    max_tokens = sampling.max_tokens or limits.default_max_tokens
    if not 1 <= max_tokens <= limits.max_tokens_cap:
        raise InvalidInput(f"max_tokens must be between 1 and {limits.max_tokens_cap}")
    # Written so that NaN fails too.
    if sampling.temperature is not None and not 0.0 <= sampling.temperature <= 2.0:
        raise InvalidInput("temperature must be between 0 and 2")
    if sampling.top_p is not None and not 0.0 < sampling.top_p <= 1.0:
        raise InvalidInput("top_p must be greater than 0 and at most 1")
    if len(sampling.stop) > limits.max_stop_strings:
        raise InvalidInput(f"at most {limits.max_stop_strings} stop strings")
    if any(not s or len(s) > limits.max_stop_chars for s in sampling.stop):
        raise InvalidInput(f"stop strings must be 1 to {limits.max_stop_chars} characters")
    if len(request.request_id) > limits.max_request_id_chars:
        raise InvalidInput(f"request_id too long: at most {limits.max_request_id_chars} characters")
    return ValidatedRequest(
        request_id=_unique_id(request.request_id),
        prompt=request.prompt if has_prompt else None,
        messages=request.messages if has_messages else None,
        max_tokens=max_tokens,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        seed=sampling.seed,
        stop=tuple(sampling.stop),
        json_schema=_parse_schema(request.json_schema, limits),
    )


def _unique_id(caller_id: str) -> str:
    # The engine aborts by id, so two callers reusing one tracing id must not collide.
    unique = uuid.uuid4().hex
    return f"{caller_id}-{unique[:12]}" if caller_id else unique


def _parse_schema(text: str, limits: Limits) -> dict[str, Any] | None:
    if not text:
        return None
    if len(text) > limits.max_schema_chars:
        raise InvalidInput(f"json_schema too long: at most {limits.max_schema_chars} characters")
    try:
        schema = json.loads(text)
    except ValueError:
        raise InvalidInput("json_schema is not valid JSON") from None
    if not isinstance(schema, dict):
        raise InvalidInput("json_schema must be a JSON object")
    return schema
