"""An Engine that answers from a script: deterministic replies for tests of logic around the LLM.

It stands in only where a real model's output cannot be predicted (unit tests,
agent-logic tests); the same adapter suite runs against it and the vLLM engine
(tests/adapters), so the two keep the same observable behaviour.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Callable, Iterable

from agentmesh_inference.domain.models import Chunk, EngineStats, FinishReason, ModelInfo, Usage, ValidatedRequest

Reply = Callable[[ValidatedRequest], str]
_PIECES = re.compile(r"\s*\S+|\s+")


class ScriptedEngine:
    """Replies with the next scripted text (or a function of the request), word by word.

    Each word is one "token"; a reply longer than max_tokens is cut and ends with
    LENGTH, otherwise STOP; an aborted stream ends with ABORT. `delay` (seconds per word) makes streams slow enough to
    cancel in tests. Aborted request ids are recorded in `aborted`.
    """

    def __init__(
        self,
        replies: Iterable[str] | Reply = ("Hello from the scripted engine.",),
        *,
        delay: float = 0.0,
        max_model_len: int = 2048,
        max_batch_size: int = 64,
    ) -> None:
        self._reply: Reply = replies if callable(replies) else _cycle(list(replies))
        self._delay = delay
        self._max_model_len = max_model_len
        self.max_batch_size = max_batch_size
        self.requests: list[ValidatedRequest] = []
        self.aborted: list[str] = []
        self._running: set[str] = set()

    def info(self) -> ModelInfo:
        """A scripted "model" with no weights at all."""
        return ModelInfo(model="scripted", max_model_len=self._max_model_len, random_weights=False, device="none")

    def stats(self) -> EngineStats:
        """Every running stream counts as one batched request."""
        return EngineStats(running_requests=len(self._running), max_batch_size=self.max_batch_size)

    @property
    def unfinished_requests(self) -> int:
        """Requests still streaming."""
        return len(self._running)

    async def generate(self, request: ValidatedRequest) -> AsyncGenerator[Chunk, None]:
        """Stream the scripted reply one word at a time."""
        self.requests.append(request)
        pieces = _PIECES.findall(self._reply(request))
        prompt_tokens = _count_prompt_words(request)
        emitted = pieces[: request.max_tokens]
        finish = FinishReason.STOP if len(pieces) <= request.max_tokens else FinishReason.LENGTH
        self._running.add(request.request_id)
        try:
            for index, piece in enumerate(emitted):
                if self._delay:
                    await asyncio.sleep(self._delay)
                if request.request_id not in self._running:
                    # Like vLLM: an aborted stream ends with an ABORT chunk.
                    yield Chunk(text="", finish_reason=FinishReason.ABORT, usage=Usage(prompt_tokens, index))
                    return
                last = index == len(emitted) - 1
                yield Chunk(
                    text=piece,
                    token_ids=(index,),
                    finish_reason=finish if last else None,
                    usage=Usage(prompt_tokens, len(emitted)) if last else None,
                )
            if not emitted:
                yield Chunk(text="", finish_reason=finish, usage=Usage(prompt_tokens, 0))
        finally:
            self._running.discard(request.request_id)

    async def abort(self, request_id: str) -> None:
        """Record the abort and stop the stream if it is still running."""
        self.aborted.append(request_id)
        self._running.discard(request_id)


def _cycle(replies: list[str]) -> Reply:
    if not replies:
        raise ValueError("a scripted engine needs at least one reply")
    state = {"next": 0}

    def reply(_: ValidatedRequest) -> str:
        text = replies[state["next"] % len(replies)]
        state["next"] += 1
        return text

    return reply


def _count_prompt_words(request: ValidatedRequest) -> int:
    if request.messages is not None:
        return sum(len(m.content.split()) + 1 for m in request.messages)
    return len((request.prompt or "").split())
