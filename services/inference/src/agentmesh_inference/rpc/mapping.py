"""Proto <-> domain translation for InferenceService (no decisions here)."""

from __future__ import annotations

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh_inference.domain.inference import EngineStatus
from agentmesh_inference.domain.models import (
    ChatMessage,
    Chunk,
    FinishReason,
    GenerationRequest,
    ModelInfo,
    Sampling,
)
from agentmesh_inference.domain.quotas import Quota, QuotaState

_FINISH_REASONS = {
    FinishReason.STOP: pb.FINISH_REASON_STOP,
    FinishReason.LENGTH: pb.FINISH_REASON_LENGTH,
    FinishReason.ABORT: pb.FINISH_REASON_ABORT,
}


def request_from_proto(message: pb.GenerateRequest) -> GenerationRequest:
    """A GenerateRequest as the domain's GenerationRequest."""
    sampling = message.sampling
    return GenerationRequest(
        prompt=message.prompt,
        messages=tuple(ChatMessage(role=m.role, content=m.content) for m in message.messages),
        sampling=Sampling(
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature if sampling.HasField("temperature") else None,
            top_p=sampling.top_p if sampling.HasField("top_p") else None,
            seed=sampling.seed if sampling.HasField("seed") else None,
            stop=tuple(sampling.stop),
        ),
        json_schema=message.json_schema,
        request_id=message.request_id,
        project_id=message.project_id,
    )


def chunk_to_proto(chunk: Chunk) -> pb.GenerateResponse:
    """A domain Chunk as one GenerateResponse of the stream."""
    response = pb.GenerateResponse(text=chunk.text, token_ids=chunk.token_ids)
    if chunk.finish_reason is not None:
        response.finish_reason = _FINISH_REASONS[chunk.finish_reason]
    if chunk.usage is not None:
        response.usage.prompt_tokens = chunk.usage.prompt_tokens
        response.usage.completion_tokens = chunk.usage.completion_tokens
    return response


def model_info_to_proto(info: ModelInfo) -> pb.GetModelInfoResponse:
    """The domain ModelInfo as a GetModelInfoResponse."""
    return pb.GetModelInfoResponse(
        model=info.model,
        max_model_len=info.max_model_len,
        random_weights=info.random_weights,
        device=info.device,
    )


def status_to_proto(status: EngineStatus) -> pb.GetEngineStatusResponse:
    """The domain EngineStatus as a GetEngineStatusResponse."""
    stats = status.stats
    return pb.GetEngineStatusResponse(
        state=pb.ENGINE_STATE_READY if status.ready else pb.ENGINE_STATE_LOADING,
        model=status.model,
        random_weights=status.random_weights,
        device=status.info.device if status.info else "",
        max_model_len=status.info.max_model_len if status.info else 0,
        stats=pb.EngineStats(
            running_requests=stats.running_requests,
            waiting_requests=stats.waiting_requests,
            queued_requests=status.queued_requests,
            kv_cache_usage=stats.kv_cache_usage,
            generation_tokens_per_second=stats.generation_tokens_per_second,
            max_batch_size=stats.max_batch_size,
            prompt_tokens_total=status.prompt_tokens_total,
            completion_tokens_total=status.completion_tokens_total,
        ),
    )


def quota_from_proto(message: pb.ProjectQuota) -> Quota:
    """A ProjectQuota (unset fields: the defaults) as the domain's Quota."""
    return Quota(
        tokens_per_minute=message.tokens_per_minute if message.HasField("tokens_per_minute") else None,
        max_concurrent=message.max_concurrent_requests if message.HasField("max_concurrent_requests") else None,
    )


def quota_state_to_proto(state: QuotaState) -> pb.ProjectQuotaState:
    """The domain QuotaState as a ProjectQuotaState."""
    return pb.ProjectQuotaState(
        project_id=state.project_id,
        quota=pb.ProjectQuota(
            tokens_per_minute=state.quota.tokens_per_minute, max_concurrent_requests=state.quota.max_concurrent
        ),
        overridden=state.overridden,
        tokens_last_minute=state.tokens_last_minute,
        in_flight_requests=state.in_flight,
        prompt_tokens_total=state.totals.prompt_tokens,
        completion_tokens_total=state.totals.completion_tokens,
        requests_total=state.totals.requests,
        rejections_total=state.totals.rejections,
    )
