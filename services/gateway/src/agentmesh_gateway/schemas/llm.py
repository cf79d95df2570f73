"""HTTP shapes of the debug inference routes (/llm/*), and the generation the inference client speaks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.values import JsonObject, Text

# The inference service's own bounds (its domain Limits); restated so the gateway refuses early.
MAX_MESSAGES = 256
MAX_STOP_STRINGS = 8
MAX_EMBED_TEXTS = 64
MAX_EMBED_CHARS = 8_000


class ChatTurn(Strict):
    """One turn of a chat."""

    role: Literal["system", "user", "assistant"]
    content: Text


class GenerateIn(Strict):
    """`POST /llm/generate`: a raw `prompt` or chat `messages` (exactly one).

    `project_id` accounts the call to a project (its quota and usage); without one it
    runs in the shared bucket of calls that name no project.
    """

    prompt: Text = ""
    messages: list[ChatTurn] = Field(default_factory=list, max_length=MAX_MESSAGES)
    max_tokens: int | None = Field(None, ge=1, description="default: the service's (128)")
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = Field(None, ge=-(2**63), lt=2**63)
    stop: list[Text] = Field(default_factory=list, max_length=MAX_STOP_STRINGS)
    json_schema: JsonObject | None = Field(None, description="a JSON schema the output must follow")
    project_id: UUID | None = None

    @model_validator(mode="after")
    def _one_input(self) -> GenerateIn:
        if bool(self.prompt) == bool(self.messages):
            raise ValueError("exactly one of prompt or messages must be set")
        return self


@dataclass(frozen=True, slots=True)
class GenerationChunk:
    """New text from the inference stream; the last one has finish_reason and the token counts."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    token_count: int = 0  # tokens in this chunk


class TokenUsage(BaseModel):
    """Tokens of one call."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class GenerateOut(BaseModel):
    """The whole completion."""

    completion: str
    finish_reason: str
    model: str
    usage: TokenUsage


class EmbedIn(Strict):
    """`POST /llm/embed`: one `text` or a list of `texts` (exactly one)."""

    text: Text | None = Field(None, max_length=MAX_EMBED_CHARS)
    texts: list[Text] | None = Field(None, min_length=1, max_length=MAX_EMBED_TEXTS)

    @model_validator(mode="after")
    def _one_input(self) -> EmbedIn:
        if (self.text is None) == (self.texts is None):
            raise ValueError("exactly one of text or texts must be set")
        return self


class EmbedOut(BaseModel):
    """`embedding` for one text, `embeddings` for a list, in order."""

    model: str
    dimensions: int
    embedding: list[float] | None = None
    embeddings: list[list[float]] | None = None


class ModelOut(BaseModel):
    """The model the inference service serves."""

    id: str  # the name OpenAI clients use
    model: str  # the path or hub id it was loaded from
    max_model_len: int
    random_weights: bool
    device: str
    created: datetime | None = None


class EngineStatsOut(BaseModel):
    """What the engine is doing."""

    running_requests: int
    waiting_requests: int
    queued_requests: int
    kv_cache_usage: float
    generation_tokens_per_second: float
    max_batch_size: int
    prompt_tokens_total: int
    completion_tokens_total: int


class LlmHealthOut(BaseModel):
    """`GET /llm/health`: the model, whether it is loaded, and engine statistics."""

    state: Literal["loading", "ready"]
    model: str
    random_weights: bool
    device: str
    max_model_len: int
    engine: EngineStatsOut
