"""Inference port over gRPC: InferenceService.Generate, server-streamed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

import grpc

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc
from agentmesh_agents.adapters.service_identity import AGENTS_SERVICE
from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.ports import ChatTurn
from agentmesh_core.identity import Identity
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.identity import acting_as

log = logging.getLogger(__name__)


def generate_request(turns: Sequence[ChatTurn], sampling: Sampling, request_id: str) -> pb.GenerateRequest:
    """The Generate request for a chat prompt."""
    params = pb.SamplingParams(max_tokens=sampling.max_tokens, stop=list(sampling.stop))
    if sampling.temperature is not None:
        params.temperature = sampling.temperature
    if sampling.top_p is not None:
        params.top_p = sampling.top_p
    if sampling.seed is not None:
        params.seed = sampling.seed
    return pb.GenerateRequest(
        messages=[pb.ChatMessage(role=turn.role, content=turn.content) for turn in turns],
        sampling=params,
        request_id=request_id,
    )


class InferenceClient:
    """Streams chat completions from the inference service, acting as the agents service."""

    def __init__(self, channel: grpc.aio.Channel, timeout: float, identity: Identity = AGENTS_SERVICE) -> None:
        self._stub = inference_service_pb2_grpc.InferenceServiceStub(channel)
        self._timeout = timeout
        self._identity = identity

    async def stream_chat(self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str) -> AsyncIterator[str]:
        with acting_as(self._identity):
            call = self._stub.Generate(generate_request(turns, sampling, request_id), timeout=self._timeout)
        try:
            async for chunk in call:
                if chunk.text:
                    yield chunk.text
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        finally:
            # Leaving early (an error, a shutdown) aborts the request in the engine.
            call.cancel()
