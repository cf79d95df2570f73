"""What a generation is: the request, the chunks it streams back, the model it runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Who speaks a chat turn."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class FinishReason(StrEnum):
    """Why generation stopped."""

    STOP = "stop"  # end-of-sequence token or a stop string
    LENGTH = "length"  # max_tokens (or the context) ran out
    ABORT = "abort"  # the request was aborted


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a chat."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling settings; None means the engine default. max_tokens 0 means the server default."""

    max_tokens: int = 0
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """A request to generate text from either a raw prompt or chat messages (exactly one).

    json_schema, when set, is JSON text of a schema the output must follow.
    request_id is the caller's tracing id (may be empty before validation).
    project_id is the project the work is accounted to (empty: the caller's own).
    """

    prompt: str = ""
    messages: tuple[ChatMessage, ...] = ()
    sampling: Sampling = field(default_factory=Sampling)
    json_schema: str = ""
    request_id: str = ""
    project_id: str = ""


@dataclass(frozen=True, slots=True)
class ValidatedRequest:
    """A request that passed validation, with defaults resolved.

    request_id is unique per call (the engine aborts by it); json_schema is parsed.
    """

    request_id: str
    prompt: str | None
    messages: tuple[ChatMessage, ...] | None
    max_tokens: int
    temperature: float | None
    top_p: float | None
    seed: int | None
    stop: tuple[str, ...]
    json_schema: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of a finished request."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """New text since the previous chunk; the last chunk has finish_reason and usage."""

    text: str
    token_ids: tuple[int, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage | None = None

    @property
    def is_last(self) -> bool:
        """True for the chunk that ends the stream."""
        return self.finish_reason is not None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The model being served."""

    model: str
    max_model_len: int
    random_weights: bool
    device: str


@dataclass(frozen=True, slots=True)
class EngineStats:
    """What the engine is doing now (all zero when it cannot tell)."""

    running_requests: int = 0
    waiting_requests: int = 0
    kv_cache_usage: float = 0.0
    generation_tokens_per_second: float = 0.0
    max_batch_size: int = 0
