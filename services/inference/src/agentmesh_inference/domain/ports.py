"""What the domain needs from outside: an LLM engine (vLLM in adapters/), a place to keep
quota overrides, and somewhere to report measurements."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Protocol

from agentmesh_inference.domain.models import Chunk, EngineStats, ModelInfo, ValidatedRequest

if TYPE_CHECKING:
    from agentmesh_inference.domain.quotas import Quota


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

    def stats(self) -> EngineStats:
        """The engine's current statistics."""
        ...

    def generate(self, request: ValidatedRequest) -> AsyncGenerator[Chunk, None]:
        """Stream the output of one request as chunks of new text.

        A generator, not just an iterator: the domain closes it when its caller stops early.
        """
        ...

    async def abort(self, request_id: str) -> None:
        """Stop a running request and free its resources (no-op when it is done)."""
        ...


class QuotaStore(Protocol):
    """Where per-project quota overrides are kept between restarts."""

    def load(self) -> Mapping[str, Quota]:
        """Every override, by project id."""
        ...

    def save(self, overrides: Mapping[str, Quota]) -> None:
        """Replace every override."""
        ...


class InferenceMetrics(Protocol):
    """Measurements of served requests (Prometheus in adapters/metrics.py)."""

    def rejected(self, project_id: str, reason: str) -> None:
        """A request was refused for quota ("concurrency" or "tokens")."""
        ...

    def finished(
        self, project_id: str, prompt_tokens: int, completion_tokens: int, ttft: float | None, duration: float
    ) -> None:
        """A request ended; ttft is None when it produced no token."""
        ...


class NoMetrics:
    """InferenceMetrics that records nothing (tests, benchmarks)."""

    def rejected(self, project_id: str, reason: str) -> None:
        """Ignore a refusal."""

    def finished(
        self, project_id: str, prompt_tokens: int, completion_tokens: int, ttft: float | None, duration: float
    ) -> None:
        """Ignore a finished request."""


class InMemoryQuotaStore:
    """A QuotaStore that forgets on restart (tests, benchmarks)."""

    def __init__(self) -> None:
        self.overrides: dict[str, Quota] = {}

    def load(self) -> Mapping[str, Quota]:
        """Every override, by project id."""
        return dict(self.overrides)

    def save(self, overrides: Mapping[str, Quota]) -> None:
        """Replace every override."""
        self.overrides = dict(overrides)
