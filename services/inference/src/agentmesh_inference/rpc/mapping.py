"""Proto <-> domain translation for InferenceService (no decisions here)."""

from __future__ import annotations

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh_inference.domain.models import (
    ChatMessage,
    Chunk,
    FinishReason,
    GenerationRequest,
    ModelInfo,
    Sampling,
)

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
