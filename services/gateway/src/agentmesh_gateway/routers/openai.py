"""The OpenAI-compatible API: `GET /v1/models` and `POST /v1/chat/completions` (also streamed).

Point the official `openai` client at `http://<gateway>/v1` with a project API key
as its api_key (or a user's access token plus an `X-Agentmesh-Project` header).
The model is the one the inference service serves; its name is what
/v1/models lists. Every call is accounted to its project: the inference service
enforces the project's quota (429 + Retry-After), and the gateway counts the
tokens per day and per key (GET /projects/{p}/usage). Errors use OpenAI's shape.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse

from agentmesh_gateway.accounts.usage import UsageLedger
from agentmesh_gateway.clients.inference import Completion, collect
from agentmesh_gateway.routers.api_caller import ApiCaller, Caller, InferenceDep, UsageDep
from agentmesh_gateway.routers.openai_errors import ModelNotFound, OpenAIRoute, error_event
from agentmesh_gateway.schemas.llm import GenerateIn, GenerationChunk
from agentmesh_gateway.schemas.openai import ChatCompletionIn

router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)

_STARTED = int(time.time())
_DONE = b"data: [DONE]\n\n"
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/models")
async def list_models(caller: Caller, inference: InferenceDep) -> JSONResponse:
    """The served model, as OpenAI's model list."""
    with caller.acting():
        model = await inference.model()
    entry = {"id": model.id, "object": "model", "created": _STARTED, "owned_by": "agentmesh"}
    return JSONResponse({"object": "list", "data": [entry]})


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionIn, caller: Caller, inference: InferenceDep, usage: UsageDep
) -> JSONResponse | StreamingResponse:
    """A chat completion; with `stream: true`, Server-Sent Events ending with `data: [DONE]`."""
    project_id = caller.project_id
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    with caller.acting():
        model = await inference.model()
        if body.model not in (model.id, model.model):
            raise ModelNotFound(f"the model '{body.model}' does not exist; this platform serves '{model.id}'")
        # Errors up to the first chunk (quota, bad input, loading) are answered as HTTP errors.
        chunks = await inference.open_generation(_generation(body), project_id, completion_id)
    reply = _Reply(completion_id, model.id, caller, usage)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(reply.events(chunks, include_usage), media_type="text/event-stream",
                                 headers=_SSE_HEADERS)  # fmt: skip
    completion = await collect(chunks)
    reply.count(completion.prompt_tokens, completion.completion_tokens)
    return JSONResponse(reply.whole(completion))


def _generation(body: ChatCompletionIn) -> GenerateIn:
    return GenerateIn(
        messages=[m.turn() for m in body.messages],
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        seed=body.seed,
        stop=body.stop_strings,
        json_schema=body.json_schema,
    )


def _finish(reason: str | None) -> str:
    # An aborted request is one whose client went away: nobody reads this, "stop" is the nearest.
    return "length" if reason == "length" else "stop"


class _Reply:
    """One completion's answer in OpenAI's format, and its usage accounting."""

    def __init__(self, completion_id: str, model: str, caller: ApiCaller, usage: UsageLedger) -> None:
        self._id = completion_id
        self._model = model
        self._created = int(time.time())
        self._caller = caller
        self._usage = usage
        self._content_parts: tuple[str, str] | None = None

    def count(self, prompt_tokens: int, completion_tokens: int) -> None:
        """Record the call's tokens against its project, key or user."""
        caller = self._caller
        self._usage.record(caller.project_id, caller.key_id, caller.user_id, prompt_tokens, completion_tokens)

    def _usage_body(self, prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    def whole(self, completion: Completion) -> dict[str, Any]:
        """The non-streamed answer."""
        message = {"role": "assistant", "content": completion.text, "refusal": None}
        return {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(completion.finish_reason)}
            ],
            "usage": self._usage_body(completion.prompt_tokens, completion.completion_tokens),
        }

    def _event(self, choices: list[dict[str, Any]], usage: dict[str, int] | None, with_usage: bool) -> bytes:
        chunk: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if with_usage:
            chunk["usage"] = usage
        return f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n".encode()

    def _delta(self, delta: dict[str, str], finish_reason: str | None, with_usage: bool) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._event([choice], None, with_usage)

    def _content(self, text: str, with_usage: bool) -> bytes:
        """A content chunk, the hot path (one per token): the fixed parts are rendered once."""
        if self._content_parts is None:
            marker = "\x00"
            template = self._delta({"content": marker}, None, with_usage).decode()
            before, after = template.split(json.dumps(marker), 1)
            self._content_parts = (before, after)
        before, after = self._content_parts
        return f"{before}{json.dumps(text)}{after}".encode()

    async def events(self, chunks: AsyncGenerator[GenerationChunk, None], include_usage: bool) -> AsyncIterator[bytes]:
        """The streamed answer: a role chunk, content chunks, a finish chunk, usage if asked, [DONE].

        One write per inference message: the role chunk goes out with the first content, and
        the finish chunk with the usage chunk and [DONE] (the same events, in fewer writes).
        """
        prompt_tokens = completion_tokens = 0
        pending = self._delta({"role": "assistant", "content": ""}, None, include_usage)
        try:
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    completion_tokens += chunk.token_count
                    if chunk.text:
                        pending += self._content(chunk.text, include_usage)
                    if chunk.finish_reason is not None:
                        prompt_tokens, completion_tokens = chunk.prompt_tokens, chunk.completion_tokens
                        pending += self._delta({}, _finish(chunk.finish_reason), include_usage)
                    elif pending:
                        yield pending
                        pending = b""
            if include_usage:
                pending += self._event([], self._usage_body(prompt_tokens, completion_tokens), True)
        except Exception as error:  # noqa: BLE001 - the client gets an error event, then [DONE]
            pending += error_event(error)
        finally:
            # Also when the client went away mid-stream: what was generated is counted.
            self.count(prompt_tokens, completion_tokens)
        yield pending + _DONE
