"""An in-memory InferenceApi for gateway tests: a scripted reply, word by word.

Like the real service it needs a bound identity, lets a caller charge only its
own project (services and superadmins any), refuses over-quota projects with a
retry time, answers Unavailable while "loading", and can fail mid-stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from agentmesh_core.errors import InvalidInput, PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable
from agentmesh_core.identity import GlobalRole, Identity, require_project_access
from agentmesh_gateway.schemas.llm import EngineStatsOut, GenerateIn, GenerationChunk, LlmHealthOut, ModelOut
from agentmesh_gateway.schemas.usage import QuotaIn, QuotaOut
from agentmesh_grpc.identity import current_identity

FAKE_MODEL = "/models/fake-llama"


@dataclass
class GenerationCall:
    """What one generation was asked to do."""

    request: GenerateIn
    project_id: str
    request_id: str
    identity: Identity


@dataclass
class FakeInference:
    """InferenceApi in memory; tests set `reply`, `loading`, `refuse` and `fail_after`."""

    reply: str = "Hello from the fake model."
    loading: bool = False
    max_prompt_chars: int = 32_000
    refuse: dict[str, float] = field(default_factory=dict)  # project -> retry_after
    fail_after: int | None = None  # chunks before the stream breaks
    calls: list[GenerationCall] = field(default_factory=list)
    quotas: dict[str, QuotaIn] = field(default_factory=dict)

    def _identity(self) -> Identity:
        identity = current_identity()
        if identity is None:
            raise Unauthenticated("missing caller identity")
        return identity

    def _ready(self) -> None:
        if self.loading:
            raise Unavailable("the model is loading; retry shortly")

    async def model(self) -> ModelOut:
        self._identity()
        self._ready()
        return ModelOut(id="fake-llama", model=FAKE_MODEL, max_model_len=2048, random_weights=True, device="cpu")

    async def open_generation(
        self, request: GenerateIn, project_id: str, request_id: str
    ) -> AsyncGenerator[GenerationChunk, None]:
        identity = self._identity()
        self._ready()
        if project_id:
            require_project_access(identity, project_id)
        prompt = " ".join([request.prompt, *(m.content for m in request.messages)]).strip()
        if len(prompt) > self.max_prompt_chars:
            raise InvalidInput(f"prompt too long: at most {self.max_prompt_chars} characters")
        if project_id in self.refuse:
            raise ResourceExhausted("project inference quota: too many requests", retry_after=self.refuse[project_id])
        self.calls.append(GenerationCall(request, project_id, request_id, identity))
        words = self.reply.split(" ")[: request.max_tokens or 128]
        return self._stream(words, len(prompt.split()))

    async def _stream(self, words: list[str], prompt_tokens: int) -> AsyncGenerator[GenerationChunk, None]:
        for index, word in enumerate(words):
            if self.fail_after is not None and index >= self.fail_after:
                raise Unavailable("the inference service is unavailable")
            text = word if index == 0 else " " + word
            if index == len(words) - 1:
                yield GenerationChunk(text, "stop", prompt_tokens, len(words), 1)
            else:
                yield GenerationChunk(text, None, 0, 0, 1)

    async def status(self) -> LlmHealthOut:
        self._identity()
        return LlmHealthOut(
            state="loading" if self.loading else "ready",
            model=FAKE_MODEL,
            random_weights=True,
            device="" if self.loading else "cpu",
            max_model_len=0 if self.loading else 2048,
            engine=EngineStatsOut(
                running_requests=0,
                waiting_requests=0,
                queued_requests=0,
                kv_cache_usage=0.0,
                generation_tokens_per_second=0.0,
                max_batch_size=64,
                prompt_tokens_total=0,
                completion_tokens_total=0,
            ),
        )

    async def project_quota(self, project_id: str) -> QuotaOut:
        require_project_access(self._identity(), project_id)
        quota = self.quotas.get(project_id, QuotaIn())
        return QuotaOut(
            tokens_per_minute=quota.tokens_per_minute if quota.tokens_per_minute is not None else 1_000_000,
            max_concurrent_requests=quota.max_concurrent_requests if quota.max_concurrent_requests is not None else 64,
            overridden=project_id in self.quotas,
            tokens_last_minute=0,
            in_flight_requests=0,
            prompt_tokens_total=0,
            completion_tokens_total=0,
            requests_total=len([c for c in self.calls if c.project_id == project_id]),
            rejections_total=0,
        )

    async def set_project_quota(self, project_id: str, quota: QuotaIn) -> QuotaOut:
        if self._identity().role is not GlobalRole.SUPERADMIN:
            raise PermissionDenied("superadmin role required to change quotas")
        if quota.tokens_per_minute is None and quota.max_concurrent_requests is None:
            self.quotas.pop(project_id, None)
        else:
            self.quotas[project_id] = quota
        return await self.project_quota(project_id)
