"""The inference use case: validate a request, stream it from the engine, abort on exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from agentmesh_core.errors import Unavailable
from agentmesh_inference.domain.limits import Limits, validate
from agentmesh_inference.domain.models import Chunk, GenerationRequest, ModelInfo
from agentmesh_inference.domain.ports import Engine

log = logging.getLogger(__name__)


class Inference:
    """Serves generation requests once an engine is attached.

    The service starts answering before the model has loaded, so the engine is
    attached later (`attach`); until then every call is Unavailable.
    """

    def __init__(self, limits: Limits, engine: Engine | None = None) -> None:
        self.limits = limits
        self._engine = engine

    @property
    def ready(self) -> bool:
        """True once a model is loaded."""
        return self._engine is not None

    def attach(self, engine: Engine) -> None:
        """Start serving with a loaded engine."""
        self._engine = engine

    def model_info(self) -> ModelInfo:
        """Describe the loaded model."""
        return self._require_engine().info()

    async def generate(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        """Stream chunks of new text; the last chunk carries finish_reason and usage.

        If the consumer stops early (the caller went away, or was cancelled), the
        engine request is aborted so it stops using a batch slot and KV cache.
        """
        engine = self._require_engine()
        validated = validate(request, self.limits)
        finished = False
        try:
            async with contextlib.aclosing(engine.generate(validated)) as stream:
                async for chunk in stream:
                    finished = chunk.is_last
                    yield chunk
        finally:
            if not finished:
                log.info("aborting unfinished request %s", validated.request_id)
                # Shielded: this runs while the caller's task is being cancelled.
                await asyncio.shield(engine.abort(validated.request_id))

    def _require_engine(self) -> Engine:
        if self._engine is None:
            raise Unavailable("model loading")
        return self._engine
