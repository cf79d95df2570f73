"""InferenceService over gRPC: translate, delegate to the Inference use case, translate back.

The server interceptor (agentmesh_grpc) has already verified the caller's
identity and maps domain errors to status codes. This service holds no project
data, so any authenticated caller may generate; there is no project check.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_grpc.identity import caller
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.rpc.mapping import chunk_to_proto, model_info_to_proto, request_from_proto

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["InferenceService"].full_name


class InferenceServicer(pb_grpc.InferenceServiceServicer):
    """Generate (server-streaming) and GetModelInfo on top of the Inference use case."""

    def __init__(self, inference: Inference) -> None:
        self._inference = inference

    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateResponse]:
        """Stream generated text; a cancelled call aborts the engine request."""
        log.debug("generate for %s", caller().subject)
        async for chunk in self._inference.generate(request_from_proto(request)):
            yield chunk_to_proto(chunk)

    async def GetModelInfo(
        self, request: pb.GetModelInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetModelInfoResponse:
        """Describe the loaded model."""
        return model_info_to_proto(self._inference.model_info())


def register(server: grpc.aio.Server, servicer: InferenceServicer) -> None:
    """Add the servicer to a grpc.aio server (ServiceServer.add_servicer calls this)."""
    pb_grpc.add_InferenceServiceServicer_to_server(servicer, server)
