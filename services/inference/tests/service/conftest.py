"""The real servicer and the real vLLM engine (tiny model) in a grpc.aio server on port 0, and
helpers to call it both ways: a Generate call, or a generation on shared GenerateMultiplexed calls."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.generations_client import Generations
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.limits import Limits
from agentmesh_inference.rpc.servicer import SERVICE_NAME, InferenceServicer, register

CALLER = Identity(subject="agents", role=GlobalRole.SERVICE)


class AbortSpy:
    """The real engine, with a record of the aborts the use case asks for."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.aborted: list[str] = []

    def info(self):
        return self.engine.info()

    def stats(self):
        return self.engine.stats()

    def generate(self, request):
        return self.engine.generate(request)

    async def abort(self, request_id: str) -> None:
        self.aborted.append(request_id)
        await self.engine.abort(request_id)


async def start_server(inference: Inference, flush_seconds: float = 0.0) -> ServiceServer:
    return await start_server_on(inference, 0, flush_seconds)


async def start_server_on(inference: Inference, port: int, flush_seconds: float = 0.0) -> ServiceServer:
    trust = ServiceKeys.local("inference").trust
    server = ServiceServer(trust, f"127.0.0.1:{port}")
    server.add_servicer(SERVICE_NAME, register, InferenceServicer(inference, trust, flush_seconds=flush_seconds))
    await server.start()
    return server


@pytest.fixture(scope="module")
async def spy(vllm_engine) -> AbortSpy:
    return AbortSpy(vllm_engine)


@pytest.fixture(scope="module")
async def address(spy) -> AsyncIterator[str]:
    server = await start_server(Inference(Limits(max_tokens_cap=1024), engine=spy))
    await server.set_serving()
    yield f"127.0.0.1:{server.port}"
    await server.stop(0)


@pytest.fixture(scope="module")
async def channel(address) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(address, ServiceKeys.local("gateway").signer)
    yield channel
    await channel.close()


@pytest.fixture
def stub(channel) -> pb_grpc.InferenceServiceStub:
    return pb_grpc.InferenceServiceStub(channel)


async def generate(stub, request: pb.GenerateRequest) -> list[pb.GenerateResponse]:
    with acting_as(CALLER):
        return [response async for response in stub.Generate(request, timeout=60)]


@pytest.fixture
async def generations(channel) -> AsyncIterator[Generations]:
    generations = Generations(channel, ServiceKeys.local("gateway").signer, lanes=1)
    yield generations
    await generations.close()


async def multiplexed(generations: Generations, request: pb.GenerateRequest, as_: Identity = CALLER):
    """A GenerateMultiplexed generation, over the client the gateway and the agents service use."""
    with acting_as(as_):
        call = generations.generate(request, timeout=60)
    return [response async for response in call]


def tokens_of(responses: list[pb.GenerateResponse]) -> list[int]:
    return [token for response in responses for token in response.token_ids]


def sampling(max_tokens: int, **fields) -> pb.SamplingParams:
    return pb.SamplingParams(max_tokens=max_tokens, **fields)
