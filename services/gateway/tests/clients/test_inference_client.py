"""The inference client against a real grpc.aio server: streams, errors before and after the first
chunk, status, quotas, and the memory client's embeddings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh.memory.v1 import memory_service_pb2 as memory_pb
from agentmesh.memory.v1 import memory_service_pb2_grpc as memory_grpc
from agentmesh_core.errors import InvalidInput, PermissionDenied, ResourceExhausted, Unavailable
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_devstack.grpc_testing import MultiplexedByGenerate, channel_to, serving
from agentmesh_gateway.clients.inference import InferenceClient, collect, served_name
from agentmesh_gateway.clients.memory import MemoryClient
from agentmesh_gateway.schemas.llm import ChatTurn, GenerateIn
from agentmesh_gateway.schemas.usage import QuotaIn
from agentmesh_grpc.identity import acting_as, caller
from agentmesh_grpc.trust import ServiceKeys

SERVICE = pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
ME = Identity("u1", GlobalRole.USER, project_id="p1", project_role=ProjectRole.USER)


class ScriptedInference(MultiplexedByGenerate, pb_grpc.InferenceServiceServicer):
    """Streams "a b c" unless told to fail; records the requests and who sent them."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.fail_after_first = False
        self.loading = False
        self.requests: list[tuple[Identity, object]] = []
        self.quota = pb.ProjectQuota(tokens_per_minute=100, max_concurrent_requests=2)

    async def Generate(self, request, context):
        self.requests.append((caller(), request))
        if self.loading:
            raise Unavailable("model loading")
        if self.error is not None:
            raise self.error
        yield pb.GenerateResponse(text="a", token_ids=[1])
        if self.fail_after_first:
            raise Unavailable("inference engine stopped")
        yield pb.GenerateResponse(text=" b c", token_ids=[2, 3], finish_reason=pb.FINISH_REASON_LENGTH,
                                  usage=pb.Usage(prompt_tokens=4, completion_tokens=3))  # fmt: skip

    async def GetModelInfo(self, request, context):
        self.requests.append((caller(), request))
        if self.loading:
            raise Unavailable("model loading")
        return pb.GetModelInfoResponse(model="/run/models/tiny-llama", max_model_len=2048, device="cpu")

    async def GetEngineStatus(self, request, context):
        state = pb.ENGINE_STATE_LOADING if self.loading else pb.ENGINE_STATE_READY
        return pb.GetEngineStatusResponse(state=state, model="m", stats=pb.EngineStats(kv_cache_usage=0.1234567891))

    async def GetProjectQuota(self, request, context):
        return pb.GetProjectQuotaResponse(state=pb.ProjectQuotaState(project_id=request.project_id, quota=self.quota))

    async def SetProjectQuota(self, request, context):
        if caller().role is not GlobalRole.SUPERADMIN:
            raise PermissionDenied("superadmin role required")
        self.quota = request.quota
        state = pb.ProjectQuotaState(project_id=request.project_id, quota=self.quota, overridden=True)
        return pb.SetProjectQuotaResponse(state=state)


@pytest.fixture
async def service() -> AsyncIterator[tuple[ScriptedInference, InferenceClient]]:
    servicer = ScriptedInference()
    async with serving(SERVICE, lambda s: pb_grpc.add_InferenceServiceServicer_to_server(servicer, s)) as address:
        async with channel_to(address) as channel:
            yield servicer, InferenceClient(channel, ServiceKeys.local("gateway").signer)


REQUEST = GenerateIn(messages=[ChatTurn(role="user", content="hi")], max_tokens=3, stop=["x"],
                     json_schema={"type": "object"})  # fmt: skip


async def test_a_generation_streams_and_carries_project_identity_and_sampling(service) -> None:
    servicer, client = service
    with acting_as(ME):
        chunks = await client.open_generation(REQUEST, "p1", "req-1")
    completion = await collect(chunks)
    assert (completion.text, completion.finish_reason) == ("a b c", "length")
    assert (completion.prompt_tokens, completion.completion_tokens) == (4, 3)
    identity, request = servicer.requests[0]
    assert identity == ME
    assert (request.project_id, request.request_id, request.sampling.max_tokens) == ("p1", "req-1", 3)
    assert list(request.sampling.stop) == ["x"] and request.json_schema == '{"type": "object"}'
    assert not request.sampling.HasField("temperature")


async def test_errors_before_the_first_chunk_raise_at_open(service) -> None:
    servicer, client = service
    servicer.error = ResourceExhausted("project inference quota", retry_after=7)
    with acting_as(ME), pytest.raises(ResourceExhausted) as refused:
        await client.open_generation(REQUEST, "p1", "r")
    assert refused.value.retry_after == 7
    servicer.error = InvalidInput("prompt too long: at most 10 characters")
    with acting_as(ME), pytest.raises(InvalidInput, match="prompt too long"):
        await client.open_generation(REQUEST, "p1", "r")
    servicer.error, servicer.loading = None, True
    with acting_as(ME), pytest.raises(Unavailable, match="loading"):
        await client.open_generation(REQUEST, "p1", "r")
    with acting_as(ME), pytest.raises(Unavailable, match="loading"):
        await client.model()


async def test_a_failure_after_the_first_chunk_raises_from_the_stream(service) -> None:
    servicer, client = service
    servicer.fail_after_first = True
    with acting_as(ME):
        chunks = await client.open_generation(REQUEST, "p1", "r")
    with pytest.raises(Unavailable):
        await collect(chunks)


async def test_model_info_is_cached_and_named_for_openai_clients(service) -> None:
    servicer, client = service
    with acting_as(ME):
        first = await client.model()
        second = await client.model()
    assert first == second and first.id == "tiny-llama" and first.model == "/run/models/tiny-llama"
    assert len(servicer.requests) == 1
    assert served_name("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"
    assert served_name("./models/x") == "x"


async def test_status_and_quotas(service) -> None:
    servicer, client = service
    with acting_as(ME):
        status = await client.status()
        quota = await client.project_quota("p1")
        with pytest.raises(PermissionDenied):
            await client.set_project_quota("p1", QuotaIn(max_concurrent_requests=1))
    assert status.state == "ready" and status.engine.kv_cache_usage == 0.123457
    assert (quota.tokens_per_minute, quota.max_concurrent_requests, quota.overridden) == (100, 2, False)
    with acting_as(Identity("root", GlobalRole.SUPERADMIN)):
        quota = await client.set_project_quota("p1", QuotaIn(max_concurrent_requests=0))
    assert quota.max_concurrent_requests == 0 and quota.overridden
    assert not servicer.quota.HasField("tokens_per_minute")


class Embedder(memory_grpc.MemoryServiceServicer):
    async def EmbedTexts(self, request, context):
        vectors = [memory_pb.Embedding(values=[float(len(t)), 0.5]) for t in request.texts]
        return memory_pb.EmbedTextsResponse(embeddings=vectors, model="mini")


async def test_the_memory_client_embeds_texts() -> None:
    name = memory_pb.DESCRIPTOR.services_by_name["MemoryService"].full_name
    async with serving(name, lambda s: memory_grpc.add_MemoryServiceServicer_to_server(Embedder(), s)) as address:
        async with channel_to(address) as channel:
            with acting_as(ME):
                model, vectors = await MemoryClient(channel).embed_texts(["ab", "c"])
    assert model == "mini" and vectors == [[2.0, 0.5], [1.0, 0.5]]
