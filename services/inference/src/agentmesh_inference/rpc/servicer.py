"""InferenceService over gRPC: translate, delegate to the Inference use case, translate back.

The server interceptor (agentmesh_grpc) has already verified the caller's
identity and maps domain errors to status codes (a quota refusal leaves as
RESOURCE_EXHAUSTED with a `retry-after` trailer). This service holds no project
data; a generation is accounted to a project, which the caller must belong to
unless it is a platform service or a superadmin (domain/quotas.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import grpc

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import Identity
from agentmesh_grpc.generations_server import GENERATE_METHOD, MultiplexedCall
from agentmesh_grpc.identity import caller
from agentmesh_grpc.trust import Trust
from agentmesh_inference.domain.coalescing import coalesced
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.rpc.mapping import (
    chunk_to_proto,
    model_info_to_proto,
    quota_from_proto,
    quota_state_to_proto,
    request_from_proto,
    status_to_proto,
)

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["InferenceService"].full_name


class InferenceServicer(pb_grpc.InferenceServiceServicer):
    """Generate (server-streaming), GenerateMultiplexed and the status RPCs on top of the Inference use case.

    A stream's messages go out at most once per `flush_seconds` after the first
    (domain/coalescing.py): tokens that come faster are sent together. A
    multiplexed generation's identity is admitted by `trust` as a Generate call's.
    """

    def __init__(self, inference: Inference, trust: Trust, flush_seconds: float = 0.0) -> None:
        self._inference = inference
        self._trust = trust
        self._flush_seconds = flush_seconds

    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateResponse]:
        """Stream generated text; a cancelled call aborts the engine request."""
        identity = caller()
        log.debug("generate for %s", identity.subject)
        chunks = coalesced(self._inference.generate(request_from_proto(request), identity), self._flush_seconds)
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                yield chunk_to_proto(chunk)

    async def GenerateMultiplexed(
        self, request_iterator: AsyncIterator[pb.GenerateMultiplexedRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateMultiplexedResponse]:
        """Run the generations the client starts, each as its own identity; their text together."""
        log.debug("multiplexed generations for %s", caller().subject)
        call = MultiplexedCall(self._generate, self._admit, self._flush_seconds)
        responses = call.serve(request_iterator)
        async with contextlib.aclosing(responses):
            async for response in responses:
                yield response

    def _admit(self, token: str) -> Identity:
        return self._trust.admit(token, GENERATE_METHOD)

    async def _generate(self, request: pb.GenerateRequest, identity: Identity) -> AsyncIterator[pb.GenerateResponse]:
        chunks = self._inference.generate(request_from_proto(request), identity)
        async with contextlib.aclosing(chunks):  # closing this aborts the engine request
            async for chunk in chunks:
                yield chunk_to_proto(chunk)

    async def GetModelInfo(
        self, request: pb.GetModelInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetModelInfoResponse:
        """Describe the loaded model."""
        return model_info_to_proto(self._inference.model_info())

    async def GetEngineStatus(
        self, request: pb.GetEngineStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEngineStatusResponse:
        """Load state and engine statistics (answers while loading)."""
        return status_to_proto(self._inference.status())

    async def GetProjectQuota(
        self, request: pb.GetProjectQuotaRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProjectQuotaResponse:
        """A project's quota and use (its members, superadmins, services)."""
        state = self._inference.quotas.state(caller(), request.project_id)
        return pb.GetProjectQuotaResponse(state=quota_state_to_proto(state))

    async def SetProjectQuota(
        self, request: pb.SetProjectQuotaRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetProjectQuotaResponse:
        """Override a project's quota (superadmins only)."""
        state = self._inference.quotas.override(caller(), request.project_id, quota_from_proto(request.quota))
        return pb.SetProjectQuotaResponse(state=quota_state_to_proto(state))


def register(server: grpc.aio.Server, servicer: InferenceServicer) -> None:
    """Add the servicer to a grpc.aio server (ServiceServer.add_servicer calls this)."""
    pb_grpc.add_InferenceServiceServicer_to_server(servicer, server)
