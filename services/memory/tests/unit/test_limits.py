"""Input checks: everything PostgreSQL, Qdrant or the model would choke on is InvalidInput."""

from __future__ import annotations

import math

import pytest

from agentmesh_core.errors import InvalidInput
from agentmesh_core.json_values import JSON_LIMITS
from agentmesh_memory.domain import limits
from agentmesh_memory.domain.limits import Limits
from agentmesh_memory.domain.models import Document

LIMITS = Limits()


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"n": value}
    return value


@pytest.mark.parametrize(
    "metadata",
    [
        {"x": math.nan},
        {"x": [1.0, math.inf]},
        {"x": {"y": -math.inf}},
        {"x": "a\x00b"},
        {"x\x00": "a"},
        {"x": ["a", {"b": "\x00"}]},
        {"x": object()},
        {"x": "lone \udc80"},
        {"x": 2**60},
        _nested(JSON_LIMITS.max_depth),  # one level more than the platform's JSON rule allows
    ],
)
def test_metadata_that_postgres_would_reject(metadata: dict) -> None:
    with pytest.raises(InvalidInput):
        limits.metadata(metadata, LIMITS)


def test_metadata_that_is_fine() -> None:
    limits.metadata({"": "empty key", "n": None, "b": True, "f": 0.5, "l": [1, "a", {"k": []}]}, LIMITS)
    limits.metadata(_nested(JSON_LIMITS.max_depth - 1), LIMITS)


def test_documents_reject_nul_and_too_much_content_per_call() -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        limits.documents([Document("a\x00b")], LIMITS)
    small = Limits(max_add_chars=10)
    limits.documents([Document("12345"), Document("67890")], small)
    with pytest.raises(InvalidInput, match="characters of content per call"):
        limits.documents([Document("12345"), Document("678901")], small)


def test_default_add_limits_allow_two_full_documents_but_not_three() -> None:
    full = Document("word " * (limits.MAX_DOCUMENT_CHARS // 5))
    limits.documents([full, full], LIMITS)
    with pytest.raises(InvalidInput):
        limits.documents([full, full, full], LIMITS)


def test_embed_texts_are_bounded() -> None:
    limits.embed_texts(["x" * limits.MAX_EMBED_TEXT_CHARS], LIMITS)
    with pytest.raises(InvalidInput):
        limits.embed_texts(["x" * (limits.MAX_EMBED_TEXT_CHARS + 1)], LIMITS)


def test_filter_values() -> None:
    assert limits.metadata_filter({"a": 3.0, "b": 0.5, "c": "x", "d": False}, LIMITS) == {
        "a": 3,
        "b": 0.5,
        "c": "x",
        "d": False,
    }
    for bad in ({"a": math.nan}, {"a": "\x00"}, {"": 1}, {"a'": 1}, {f"k{i}": i for i in range(17)}):
        with pytest.raises(InvalidInput):
            limits.metadata_filter(bad, LIMITS)
