"""Checks on client input other than model configs: names, texts, topics, content."""

from __future__ import annotations

import json
import re

from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import JsonValue
from agentmesh_core.errors import InvalidInput

_TOPIC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PERFORMATIVE = re.compile(r"^[a-z][a-z0-9_-]*$")


def require_text(value: str, what: str, max_length: int, *, required: bool = False) -> str:
    """A bounded text field; `required` also refuses blank text."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    if required and not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_length:
        raise InvalidInput(f"{what} must be at most {max_length} characters")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return value


def agent_name(value: str, limits: Limits) -> str:
    """A display name: non-blank, bounded, no surrounding whitespace."""
    return require_text(value, "name", limits.name_max_length, required=True).strip()


def topics(values: list[str] | tuple[str, ...], limits: Limits) -> tuple[str, ...]:
    """Topic names safe to use as subject tokens, deduplicated in order."""
    if len(values) > limits.topics_max:
        raise InvalidInput(f"at most {limits.topics_max} topics")
    seen: dict[str, None] = {}
    for topic in values:
        if not isinstance(topic, str) or len(topic) > limits.topic_max_length or not _TOPIC.match(topic):
            raise InvalidInput(
                f"topics must be 1-{limits.topic_max_length} characters of letters, digits, '_', '-' or '.'"
            )
        seen[topic] = None
    return tuple(seen)


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
    """Content must say something and fit the size cap (measured as UTF-8 JSON)."""
    if content is None:
        raise InvalidInput("content is required")
    if isinstance(content, str) and not content.strip():
        raise InvalidInput("content must not be empty")
    if isinstance(content, dict | list) and not content:
        raise InvalidInput("content must not be empty")
    encoded = json.dumps(content, ensure_ascii=False)
    if len(encoded.encode()) > limits.message_max_bytes:
        raise InvalidInput(f"content must be at most {limits.message_max_bytes} bytes")
    if _has_nul(content):
        # PostgreSQL's JSONB cannot hold NUL characters.
        raise InvalidInput("content must not contain NUL characters")
    return content


def _has_nul(value: JsonValue) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def content_text(content: JsonValue) -> str:
    """The text a model sees for a content value (JSON for structured content)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict) and len(content) == 1:
        text = content.get("text")
        if isinstance(text, str):
            return text
    return json.dumps(content, ensure_ascii=False, sort_keys=True)
