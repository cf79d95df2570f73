"""The one thing the domain needs from an LLM engine (vLLM implements it in adapters/)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from agentmesh_inference.domain.models import Chunk, ModelInfo, ValidatedRequest


class Engine(Protocol):
    """A loaded model that generates for many concurrent callers.

    Implementations batch concurrent `generate` calls themselves (continuous
    batching): callers just submit. The stream ends with a chunk whose
    finish_reason and usage are set. An engine may raise InvalidInput for what
    only it can check (e.g. a prompt longer than the model's context).
    """

    def info(self) -> ModelInfo:
        """Describe the loaded model."""
        ...

    def generate(self, request: ValidatedRequest) -> AsyncGenerator[Chunk, None]:
        """Stream the output of one request as chunks of new text.

        A generator, not just an iterator: the domain closes it when its caller stops early.
        """
        ...

    async def abort(self, request_id: str) -> None:
        """Stop a running request and free its resources (no-op when it is done)."""
        ...
