"""The inference use case: validate a request, admit it within its project's quota, wait
for a fair turn at the engine, stream it, abort on exit, and count what it used."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from agentmesh_core.errors import Unavailable
from agentmesh_core.identity import Identity
from agentmesh_inference.domain.fair_queue import FairQueue
from agentmesh_inference.domain.limits import Limits, validate
from agentmesh_inference.domain.models import Chunk, EngineStats, GenerationRequest, ModelInfo
from agentmesh_inference.domain.ports import Engine, InferenceMetrics, InMemoryQuotaStore, NoMetrics
from agentmesh_inference.domain.quotas import ProjectQuotas, Quota, QuotaExceeded, charged_project

log = logging.getLogger(__name__)

# Generous defaults for in-process use (tests, benchmarks); the service passes its settings'.
UNLIMITED = Quota(tokens_per_minute=10**12, max_concurrent=100_000)


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """Whether the model serves, what it is, and what the engine and the fair queue are doing."""

    ready: bool
    model: str
    random_weights: bool
    info: ModelInfo | None
    stats: EngineStats
    queued_requests: int
    prompt_tokens_total: int
    completion_tokens_total: int


class Inference:
    """Serves generation requests once an engine is attached.

    The service starts answering before the model has loaded, so the engine is
    attached later (`attach`); until then every call is Unavailable.
    """

    def __init__(
        self,
        limits: Limits,
        engine: Engine | None = None,
        *,
        quotas: ProjectQuotas | None = None,
        queue: FairQueue | None = None,
        metrics: InferenceMetrics | None = None,
        model: str = "",
        random_weights: bool = False,
    ) -> None:
        self.limits = limits
        self._engine = engine
        self.quotas = quotas or ProjectQuotas(UNLIMITED, InMemoryQuotaStore())
        self.queue = queue or FairQueue(capacity=100_000)
        self._metrics = metrics or NoMetrics()
        self._model, self._random_weights = model, random_weights
        self._prompt_tokens = 0
        self._completion_tokens = 0

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

    def status(self) -> EngineStatus:
        """Load state and statistics; answers while the model loads, too."""
        engine = self._engine
        info = engine.info() if engine is not None else None
        return EngineStatus(
            ready=engine is not None,
            model=info.model if info else self._model,
            random_weights=info.random_weights if info else self._random_weights,
            info=info,
            stats=engine.stats() if engine is not None else EngineStats(),
            queued_requests=self.queue.queued,
            prompt_tokens_total=self._prompt_tokens,
            completion_tokens_total=self._completion_tokens,
        )

    async def generate(self, request: GenerationRequest, caller: Identity | None = None) -> AsyncGenerator[Chunk, None]:
        """Stream chunks of new text; the last chunk carries finish_reason and usage.

        `caller` decides which project the work may be accounted to (None: an
        in-process caller). If the consumer stops early (the caller went away, or
        was cancelled), the engine request is aborted so it stops using a batch
        slot and KV cache.
        """
        engine = self._require_engine()
        validated = validate(request, self.limits)
        project = charged_project(caller, request.project_id)
        try:
            self.quotas.acquire(project)
        except QuotaExceeded as refusal:
            self._metrics.rejected(project, refusal.reason)
            log.info("quota refused a request of project %s: %s", project or "(none)", refusal.reason)
            raise
        started = time.monotonic()
        first_token: float | None = None
        prompt_tokens = completion_tokens = 0
        finished = False
        try:
            async with self.queue.slot(project), contextlib.aclosing(engine.generate(validated)) as stream:
                async for chunk in stream:
                    if first_token is None and chunk.token_ids:
                        first_token = time.monotonic() - started
                    if chunk.usage is not None:
                        prompt_tokens, completion_tokens = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
                    else:
                        completion_tokens += len(chunk.token_ids)
                    finished = chunk.is_last
                    yield chunk
        finally:
            self.quotas.release(project)
            if not finished:
                log.info("aborting unfinished request %s", validated.request_id)
                # Shielded: this runs while the caller's task is being cancelled.
                await asyncio.shield(engine.abort(validated.request_id))
            if finished or completion_tokens:  # a request the engine refused used nothing
                self._account(project, prompt_tokens, completion_tokens, first_token, time.monotonic() - started)

    def _account(self, project: str, prompt: int, completion: int, ttft: float | None, duration: float) -> None:
        self.quotas.record(project, prompt, completion)
        self._prompt_tokens += prompt
        self._completion_tokens += completion
        self._metrics.finished(project, prompt, completion, ttft, duration)

    def _require_engine(self) -> Engine:
        if self._engine is None:
            raise Unavailable("model loading")
        return self._engine
