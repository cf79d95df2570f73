"""Checks on client input other than model configs: names, texts, topics, content.

Text follows the platform's one rule (agentmesh_core.text) and content the one
free-form JSON rule (agentmesh_core.json_values), checked before anything is stored.
"""

from __future__ import annotations

import json
import re

from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import JsonValue
from agentmesh_core.errors import InvalidInput
from agentmesh_core.json_values import check_json
from agentmesh_core.text import check_text

_TOPIC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PERFORMATIVE = re.compile(r"^[a-z][a-z0-9_-]*$")
MAX_SEQUENCE = 2**63 - 1


def require_text(value: str, what: str, max_length: int, *, required: bool = False) -> str:
    """A bounded text field; `required` also refuses blank text."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    if required and not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_length:
        raise InvalidInput(f"{what} must be at most {max_length} characters")
    return check_text(value, what)


def agent_name(value: str, limits: Limits) -> str:
    """A display name: non-blank, bounded, no surrounding whitespace."""
    return require_text(value, "name", limits.name_max_length, required=True).strip()


def topics(values: list[str] | tuple[str, ...], limits: Limits) -> tuple[str, ...]:
    """Topic names safe to use as subject tokens, deduplicated in order."""
    if len(values) > limits.topics_max:
        raise InvalidInput(f"at most {limits.topics_max} topics")
    seen: dict[str, None] = {}
    for value in values:
        seen[topic(value, limits, what="topics")] = None
    return tuple(seen)


def topic(value: str, limits: Limits, *, what: str = "topic") -> str:
    """A topic name, safe to use as a subject token (one rule for subscriptions and publishes)."""
    if not isinstance(value, str) or len(value) > limits.topic_max_length or not _TOPIC.match(value):
        raise InvalidInput(f"{what} must be 1-{limits.topic_max_length} characters of letters, digits, '_', '-' or '.'")
    return value


def performative(value: str, limits: Limits) -> str:
    """A speech-act type such as "request" or "inform"; "request" when empty."""
    if not value:
        return "request"
    if len(value) > limits.performative_max_length or not _PERFORMATIVE.match(value):
        raise InvalidInput(
            f"performative must be up to {limits.performative_max_length} lowercase letters, digits, '_' or '-'"
        )
    return value


def optional_key(value: str, what: str, max_length: int) -> str | None:
    """A client-chosen key (idempotency, correlation); None when empty."""
    if not value:
        return None
    return require_text(value, what, max_length)


def message_content(content: JsonValue, limits: Limits) -> JsonValue:
    """Content must say something, keep the JSON rule, and fit the size cap (as UTF-8 JSON)."""
    if content is None:
        raise InvalidInput("content is required")
    if isinstance(content, str) and not content.strip():
        raise InvalidInput("content must not be empty")
    if isinstance(content, dict | list) and not content:
        raise InvalidInput("content must not be empty")
    return check_json(content, "content", max_bytes=limits.message_max_bytes)


def resume_sequence(after_sequence: int) -> int:
    """A stream resume point: event sequences are signed 64-bit in storage."""
    if not 0 <= after_sequence <= MAX_SEQUENCE:
        raise InvalidInput(f"after_sequence must be between 0 and {MAX_SEQUENCE}")
    return after_sequence


def content_text(content: JsonValue) -> str:
    """The text a model sees for a content value (JSON for structured content)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict) and len(content) == 1:
        text = content.get("text")
        if isinstance(text, str):
            return text
    return json.dumps(content, ensure_ascii=False, sort_keys=True)
