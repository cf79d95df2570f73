"""The OpenAI chat completions request, as far as the platform serves it.

Unknown fields are ignored (clients send many optional ones); fields the
platform cannot honour with a value that would change the answer (n > 1,
penalties, logprobs, tools) are refused with a 400 naming the field, rather than
silently ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentmesh_gateway.schemas.llm import MAX_MESSAGES, MAX_STOP_STRINGS, ChatTurn
from agentmesh_gateway.schemas.values import JsonObject, JsonValue, Text

# OpenAI's "developer" role is the system prompt of newer models.
_ROLES = {"developer": "system", "system": "system", "user": "user", "assistant": "assistant"}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Lenient):
    """A text content part (the only kind served: no images or audio)."""

    type: Literal["text"]
    text: Text


class ChatMessageIn(_Lenient):
    """One message: system, developer, user or assistant (tool messages are not served)."""

    role: Literal["system", "developer", "user", "assistant"]
    content: Text | list[TextPart]
    name: Text | None = None

    def turn(self) -> ChatTurn:
        """The message as a chat turn for the inference service."""
        text = self.content if isinstance(self.content, str) else "\n".join(p.text for p in self.content)
        return ChatTurn(role=_ROLES[self.role], content=text)  # type: ignore[arg-type]


class JsonSchemaFormat(_Lenient):
    """`response_format.json_schema`: the schema the reply must follow."""

    name: Text = Field(min_length=1, max_length=64)
    description: Text | None = None
    schema_: JsonObject = Field(alias="schema", default_factory=lambda: {"type": "object"})
    strict: bool | None = None


class ResponseFormat(_Lenient):
    """`text`, `json_object` (any JSON object) or `json_schema`."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("json_schema is required when type is json_schema")
        return self


class StreamOptions(_Lenient):
    """`include_usage`: a last chunk with the usage and no choices."""

    include_usage: bool = False


class ChatCompletionIn(_Lenient):
    """`POST /v1/chat/completions`."""

    model: Text = Field(min_length=1, max_length=256)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: Text | list[Text] | None = None
    seed: int | None = Field(None, ge=-(2**63), lt=2**63)
    n: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logprobs: bool | None = None
    tools: list[JsonValue] | None = None
    user: Text | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int | None) -> int | None:
        if value is not None and value != 1:
            raise ValueError("only n=1 is supported: one choice per request")
        return value

    @field_validator("presence_penalty", "frequency_penalty")
    @classmethod
    def _no_penalty(cls, value: float | None) -> float | None:
        if value:
            raise ValueError("penalties are not supported (only 0)")
        return value

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("logprobs are not supported")
        return value

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, value: list[object] | None) -> list[object] | None:
        if value:
            raise ValueError("tools are not supported by this endpoint")
        return value

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > MAX_STOP_STRINGS:
            raise ValueError(f"at most {MAX_STOP_STRINGS} stop strings")
        return value

    @property
    def stop_strings(self) -> list[str]:
        """`stop` as a list."""
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def json_schema(self) -> dict[str, object] | None:
        """The schema the reply must follow, from response_format (None: free text)."""
        fmt = self.response_format
        if fmt is None or fmt.type == "text":
            return None
        if fmt.type == "json_schema" and fmt.json_schema is not None:
            return fmt.json_schema.schema_
        return {"type": "object"}
