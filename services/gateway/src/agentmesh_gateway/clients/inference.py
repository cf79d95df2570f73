"""InferenceService wrapper: generations (streamed), model and engine status, project quotas."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import PurePosixPath

import grpc

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.errors import AgentmeshError, Unavailable
from agentmesh_core.tokens import IdentitySigner
from agentmesh_gateway.clients.convert import READ_TIMEOUT, WRITE_TIMEOUT, rpc, rpc_error
from agentmesh_gateway.schemas.llm import EngineStatsOut, GenerateIn, GenerationChunk, LlmHealthOut, ModelOut
from agentmesh_gateway.schemas.usage import QuotaIn, QuotaOut
from agentmesh_grpc.generations_client import Generation, Generations

_SERVICE = "inference"
# A whole generation (512 tokens at most) on a busy CPU engine, fair-queue wait included.
GENERATE_TIMEOUT = 600.0
# GetModelInfo is asked at most this often (the model does not change while the service runs).
MODEL_INFO_TTL = 30.0
MODEL_LOADING = "model loading"

_FINISH = {
    pb.FINISH_REASON_STOP: "stop",
    pb.FINISH_REASON_LENGTH: "length",
    pb.FINISH_REASON_ABORT: "abort",
}


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole generation: its text, why it ended, its tokens."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


async def collect(chunks: AsyncGenerator[GenerationChunk, None]) -> Completion:
    """Read a generation to its end."""
    parts: list[str] = []
    last = GenerationChunk("")
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            parts.append(chunk.text)
            last = chunk
    return Completion("".join(parts), last.finish_reason or "stop", last.prompt_tokens, last.completion_tokens)


def served_name(model: str) -> str:
    """The model's name for OpenAI clients: a local path's directory name, or the hub id as is."""
    if model.startswith(("/", "./", "../")):
        return PurePosixPath(model).name or model
    return model


def _error(error: grpc.aio.AioRpcError) -> AgentmeshError:
    if error.code() == grpc.StatusCode.UNAVAILABLE and error.details() == MODEL_LOADING:
        return Unavailable("the model is loading; retry shortly")
    return rpc_error(error, _SERVICE)


def _request(request: GenerateIn, project_id: str, request_id: str) -> pb.GenerateRequest:
    sampling = pb.SamplingParams(max_tokens=request.max_tokens or 0, stop=request.stop)
    if request.temperature is not None:
        sampling.temperature = request.temperature
    if request.top_p is not None:
        sampling.top_p = request.top_p
    if request.seed is not None:
        sampling.seed = request.seed
    return pb.GenerateRequest(
        prompt=request.prompt,
        messages=[pb.ChatMessage(role=m.role, content=m.content) for m in request.messages],
        sampling=sampling,
        json_schema=json.dumps(request.json_schema) if request.json_schema is not None else "",
        request_id=request_id,
        project_id=project_id,
    )


def _chunk(response: pb.GenerateResponse) -> GenerationChunk:
    finish = _FINISH.get(response.finish_reason)
    return GenerationChunk(
        text=response.text,
        finish_reason=finish,
        prompt_tokens=response.usage.prompt_tokens,
        completion_tokens=response.usage.completion_tokens,
        token_count=len(response.token_ids),
    )


def _quota(state: pb.ProjectQuotaState) -> QuotaOut:
    return QuotaOut(
        tokens_per_minute=state.quota.tokens_per_minute,
        max_concurrent_requests=state.quota.max_concurrent_requests,
        overridden=state.overridden,
        tokens_last_minute=state.tokens_last_minute,
        in_flight_requests=state.in_flight_requests,
        prompt_tokens_total=state.prompt_tokens_total,
        completion_tokens_total=state.completion_tokens_total,
        requests_total=state.requests_total,
        rejections_total=state.rejections_total,
    )


class InferenceClient:
    """InferenceApi over gRPC; generations run over shared multiplexed calls (agentmesh_grpc.generations_client)."""

    def __init__(self, channel: grpc.aio.Channel, signer: IdentitySigner) -> None:
        self._stub = pb_grpc.InferenceServiceStub(channel)
        self._generations = Generations(channel, signer)
        self._model: ModelOut | None = None
        self._model_until = 0.0

    async def model(self) -> ModelOut:
        """The served model (cached briefly); Unavailable while it loads."""
        if self._model is None or time.monotonic() > self._model_until:
            try:
                info = await self._stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=READ_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise _error(error) from None
            self._model = ModelOut(
                id=served_name(info.model),
                model=info.model,
                max_model_len=info.max_model_len,
                random_weights=info.random_weights,
                device=info.device,
            )
            self._model_until = time.monotonic() + MODEL_INFO_TTL
        return self._model

    async def open_generation(
        self, request: GenerateIn, project_id: str, request_id: str
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Start a generation; errors before the first chunk (quota, bad input, loading) raise here,
        later ones from the returned iterator."""
        call = self._generations.generate(_request(request, project_id, request_id), timeout=GENERATE_TIMEOUT)
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as error:
            call.cancel()
            raise _error(error) from None
        if not isinstance(first, pb.GenerateResponse):  # grpc.aio.EOF: the stream ended empty
            call.cancel()
            raise Unavailable("the inference service ended the stream without an answer")
        return self._rest(call, _chunk(first))

    async def _rest(self, call: Generation, first: GenerationChunk) -> AsyncGenerator[GenerationChunk, None]:
        try:
            yield first
            while isinstance(response := await call.read(), pb.GenerateResponse):
                yield _chunk(response)
        except grpc.aio.AioRpcError as error:
            raise _error(error) from None
        finally:
            # A client that went away: the service aborts the engine request.
            call.cancel()

    async def status(self) -> LlmHealthOut:
        """Load state and engine statistics (answers while the model loads)."""
        status = await rpc(_SERVICE, self._stub.GetEngineStatus(pb.GetEngineStatusRequest(), timeout=READ_TIMEOUT))
        stats = status.stats
        return LlmHealthOut(
            state="ready" if status.state == pb.ENGINE_STATE_READY else "loading",
            model=status.model,
            random_weights=status.random_weights,
            device=status.device,
            max_model_len=status.max_model_len,
            engine=EngineStatsOut(
                running_requests=stats.running_requests,
                waiting_requests=stats.waiting_requests,
                queued_requests=stats.queued_requests,
                kv_cache_usage=round(stats.kv_cache_usage, 6),
                generation_tokens_per_second=round(stats.generation_tokens_per_second, 3),
                max_batch_size=stats.max_batch_size,
                prompt_tokens_total=stats.prompt_tokens_total,
                completion_tokens_total=stats.completion_tokens_total,
            ),
        )

    async def project_quota(self, project_id: str) -> QuotaOut:
        """A project's quota and its use."""
        request = pb.GetProjectQuotaRequest(project_id=project_id)
        response = await rpc(_SERVICE, self._stub.GetProjectQuota(request, timeout=READ_TIMEOUT))
        return _quota(response.state)

    async def set_project_quota(self, project_id: str, quota: QuotaIn) -> QuotaOut:
        """Override a project's quota (the caller must be a superadmin)."""
        limits = pb.ProjectQuota()
        if quota.tokens_per_minute is not None:
            limits.tokens_per_minute = quota.tokens_per_minute
        if quota.max_concurrent_requests is not None:
            limits.max_concurrent_requests = quota.max_concurrent_requests
        request = pb.SetProjectQuotaRequest(project_id=project_id, quota=limits)
        response = await rpc(_SERVICE, self._stub.SetProjectQuota(request, timeout=WRITE_TIMEOUT))
        return _quota(response.state)
