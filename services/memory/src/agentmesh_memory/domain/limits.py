"""Request limits and the input checks that enforce them (all raise InvalidInput).

Text follows the platform's one rule (agentmesh_core.text) and metadata the one
free-form JSON rule (agentmesh_core.json_values), with memory's own size cap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from agentmesh_core.errors import InvalidInput
from agentmesh_core.json_values import check_json
from agentmesh_core.text import check_text
from agentmesh_memory.domain.models import Document, JsonObject, Scalar

MAX_DOCUMENT_CHARS = 100_000
MAX_DOCUMENTS = 64
DEFAULT_K = 5
MAX_K = 50
MAX_QUERY_CHARS = 2_000
MAX_METADATA_BYTES = 8 * 1024
# Every chunk is embedded on the service's one model thread (~tens of 800-char
# chunks a second on 2 CPU cores): bound one call's work so that it ends within
# the callers' deadlines and searches are not starved behind it.
MAX_ADD_CHARS = 200_000
MAX_EMBED_TEXTS = 64
# The model reads at most 256 tokens of a text; longer texts only cost tokenizing.
MAX_EMBED_TEXT_CHARS = 10_000
# The entries of one AddMemories (content + metadata, which every chunk repeats)
# must fit a gRPC response (8 MiB) with room to spare.
MAX_ADD_BYTES = 6 * 1024 * 1024
# As long as the messages route's idempotency keys.
MAX_IDEMPOTENCY_KEY_CHARS = 200
_MAX_FILTER_KEYS = 16
_FORBIDDEN_KEY_CHARS = frozenset(".[]\"'")


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits a Memory use case enforces (tests may shrink them)."""

    max_document_chars: int = MAX_DOCUMENT_CHARS
    max_documents: int = MAX_DOCUMENTS
    max_k: int = MAX_K
    max_query_chars: int = MAX_QUERY_CHARS
    max_metadata_bytes: int = MAX_METADATA_BYTES
    max_add_chars: int = MAX_ADD_CHARS
    max_embed_texts: int = MAX_EMBED_TEXTS
    max_embed_text_chars: int = MAX_EMBED_TEXT_CHARS
    max_add_bytes: int = MAX_ADD_BYTES


def text(value: str, what: str) -> None:
    """The platform's text rule: no NUL (PostgreSQL refuses it), no lone surrogates."""
    check_text(value, what)


def documents(docs: Sequence[Document], limits: Limits) -> None:
    """Check an AddMemories batch."""
    if not docs:
        raise InvalidInput("at least one document is required")
    if len(docs) > limits.max_documents:
        raise InvalidInput(f"at most {limits.max_documents} documents per call")
    for index, doc in enumerate(docs):
        if not doc.content.strip():
            raise InvalidInput(f"document {index}: content must not be empty")
        if len(doc.content) > limits.max_document_chars:
            raise InvalidInput(f"document {index}: content exceeds {limits.max_document_chars} characters")
        text(doc.content, f"document {index}: content")
        metadata(doc.metadata, limits, f"document {index}: metadata")
    if sum(len(doc.content) for doc in docs) > limits.max_add_chars:
        raise InvalidInput(f"at most {limits.max_add_chars} characters of content per call; send fewer documents")


def idempotency_key(value: str) -> str | None:
    """An add's optional idempotency key (None when empty): bounded, storable text."""
    if not value:
        return None
    if len(value) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidInput(f"idempotency_key exceeds {MAX_IDEMPOTENCY_KEY_CHARS} characters")
    text(value, "idempotency_key")
    return value


def metadata(value: JsonObject, limits: Limits, what: str = "metadata") -> None:
    """Metadata is a JSON object of bounded size."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be an object")
    check_json(value, what, max_bytes=limits.max_metadata_bytes)


def k(requested: int, limits: Limits) -> int:
    """How many hits to return; 0 means the default."""
    if requested < 0 or requested > limits.max_k:
        raise InvalidInput(f"k must be between 1 and {limits.max_k}")
    return requested or DEFAULT_K


def query(value: str, limits: Limits) -> str:
    """A search query: not blank, bounded."""
    if not value.strip():
        raise InvalidInput("query must not be empty")
    if len(value) > limits.max_query_chars:
        raise InvalidInput(f"query exceeds {limits.max_query_chars} characters")
    return value


def metadata_filter(value: JsonObject, limits: Limits) -> dict[str, Scalar]:
    """Exact-match conditions: top-level keys to strings, numbers or booleans."""
    metadata(value, limits, "filter")
    if len(value) > _MAX_FILTER_KEYS:
        raise InvalidInput(f"filter has more than {_MAX_FILTER_KEYS} keys")
    conditions: dict[str, Scalar] = {}
    for key, item in value.items():
        if not key or any(c in _FORBIDDEN_KEY_CHARS for c in key):
            raise InvalidInput("filter keys must be non-empty and must not contain . [ ] or quotes")
        if isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(f"filter value of {key!r} must be finite")
            item = int(item) if item.is_integer() else item
        if not isinstance(item, str | int | float | bool):
            raise InvalidInput(f"filter value of {key!r} must be a string, number or boolean")
        conditions[key] = item
    return conditions


def embed_texts(texts: Sequence[str], limits: Limits) -> None:
    """Check an EmbedTexts batch."""
    if not texts:
        raise InvalidInput("at least one text is required")
    if len(texts) > limits.max_embed_texts:
        raise InvalidInput(f"at most {limits.max_embed_texts} texts per call")
    for index, item in enumerate(texts):
        if not item.strip():
            raise InvalidInput(f"text {index} must not be empty")
        if len(item) > limits.max_embed_text_chars:
            raise InvalidInput(f"text {index} exceeds {limits.max_embed_text_chars} characters")
