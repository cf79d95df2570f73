"""Generate and the status RPCs: the real servicer and the real vLLM engine (tiny model)."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.limits import Limits

from .conftest import CALLER, generate, sampling, start_server


async def test_health_is_serving(channel):
    response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_model_info_reports_the_random_tiny_model(stub):
    with acting_as(CALLER):
        info = await stub.GetModelInfo(pb.GetModelInfoRequest())
    assert info.random_weights is True
    assert info.max_model_len == 2048 and info.device == "cpu" and info.model.endswith("tiny-llama")


async def test_chat_stream_arrives_in_chunks_and_ends_with_usage(stub):
    request = pb.GenerateRequest(
        messages=[pb.ChatMessage(role="system", content="Be brief."), pb.ChatMessage(role="user", content="Hi")],
        sampling=sampling(24, temperature=0.0),
    )
    responses = await generate(stub, request)
    assert len(responses) > 1
    assert all(r.finish_reason == pb.FINISH_REASON_UNSPECIFIED for r in responses[:-1])
    last = responses[-1]
    assert last.finish_reason == pb.FINISH_REASON_LENGTH
    assert last.usage.prompt_tokens > 5
    assert last.usage.completion_tokens == sum(len(r.token_ids) for r in responses) == 24


async def test_eight_concurrent_calls_all_finish(stub):
    requests = [pb.GenerateRequest(prompt=f"Request {i}", sampling=sampling(32)) for i in range(8)]
    results = await asyncio.gather(*(generate(stub, r) for r in requests))
    for responses in results:
        last = responses[-1]
        assert last.finish_reason in (pb.FINISH_REASON_STOP, pb.FINISH_REASON_LENGTH)
        assert 0 < last.usage.completion_tokens <= 32


async def test_same_seed_gives_same_tokens(stub):
    request = pb.GenerateRequest(prompt="The agents", sampling=sampling(16, temperature=1.0, seed=7))
    first = await generate(stub, request)
    second = await generate(stub, request)
    # The same tokens; how they are cut into chunks depends on how fast the stream is read.
    assert [t for r in first for t in r.token_ids] == [t for r in second for t in r.token_ids]


async def test_a_flush_window_sends_fewer_messages_with_the_same_tokens(stub, spy):
    request = pb.GenerateRequest(prompt="The agents", sampling=sampling(24, temperature=0.0))
    one_by_one = await generate(stub, request)
    server = await start_server(Inference(Limits(), engine=spy), flush_seconds=0.5)
    channel = create_channel(f"127.0.0.1:{server.port}", ServiceKeys.local("gateway").signer)
    try:
        together = await generate(pb_grpc.InferenceServiceStub(channel), request)
    finally:
        await channel.close()
        await server.stop(0)

    tokens = [t for r in one_by_one for t in r.token_ids]
    assert [t for r in together for t in r.token_ids] == tokens and len(tokens) == 24
    assert "".join(r.text for r in together) == "".join(r.text for r in one_by_one)
    assert len(together[0].token_ids) >= 1  # the first went out at once
    assert len(together) < len(one_by_one)
    assert together[-1].finish_reason == pb.FINISH_REASON_LENGTH and together[-1].usage.completion_tokens == 24


async def test_json_schema_output_parses(stub):
    schema = {
        "type": "object",
        "properties": {
            "tool": {"type": "string", "enum": ["search", "calculator"]},
            "query": {"type": "string", "maxLength": 24},
            "limit": {"type": "integer", "minimum": 1, "maximum": 10},
        },
        "required": ["tool", "query", "limit"],
        "additionalProperties": False,
    }
    request = pb.GenerateRequest(
        messages=[pb.ChatMessage(role="user", content="Find the sales report")],
        json_schema=json.dumps(schema),
        sampling=sampling(128),
    )
    results = await asyncio.gather(*(generate(stub, request) for _ in range(4)))
    for responses in results:
        # strict=False: a random model's strings may hold raw control characters.
        value = json.loads("".join(r.text for r in responses), strict=False)
        assert value["tool"] in ("search", "calculator") and 1 <= value["limit"] <= 10


@pytest.mark.parametrize("way", ["Generate", "GenerateMultiplexed"])
async def test_a_cancelled_generation_aborts_the_engine_request(stub, generations, spy, way):
    aborts_before = len(spy.aborted)
    request = pb.GenerateRequest(prompt="Hello", sampling=sampling(1000, temperature=0.0))
    with acting_as(CALLER):
        call = stub.Generate(request) if way == "Generate" else generations.generate(request)
    received = 0
    async for _ in call:
        received += 1
        if received == 3:
            break
    assert spy.engine.unfinished_requests == 1
    call.cancel()
    await eventually(lambda: spy.engine.unfinished_requests == 0, timeout=5, what="the engine request to be aborted")
    assert len(spy.aborted) == aborts_before + 1


async def test_call_without_identity_is_unauthenticated(address):
    async with grpc.aio.insecure_channel(address) as bare:
        call = pb_grpc.InferenceServiceStub(bare).Generate(pb.GenerateRequest(prompt="hi"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in call:
                pass
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "request_",
    [
        pb.GenerateRequest(),
        pb.GenerateRequest(prompt="hi", messages=[pb.ChatMessage(role="user", content="hi")]),
        pb.GenerateRequest(messages=[pb.ChatMessage(role="tool", content="hi")]),
        pb.GenerateRequest(prompt="hi", sampling=sampling(5000)),
        pb.GenerateRequest(prompt="hi", sampling=sampling(8, temperature=3.0)),
        pb.GenerateRequest(prompt="hi", json_schema="{not json"),
        pb.GenerateRequest(prompt="word " * 3000),  # longer than the model's context, in tokens
    ],
    ids=["empty", "both", "role", "max_tokens", "temperature", "schema", "context"],
)
async def test_invalid_input_is_invalid_argument(stub, request_):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await generate(stub, request_)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Traceback" not in (caught.value.details() or "")


async def test_before_the_model_loads_calls_are_unavailable():
    server = await start_server(Inference(Limits()))
    try:
        async with create_channel(f"127.0.0.1:{server.port}", ServiceKeys.local("gateway").signer) as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
            assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await generate(pb_grpc.InferenceServiceStub(channel), pb.GenerateRequest(prompt="hi"))
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert caught.value.details() == "model loading"
            with acting_as(CALLER):
                status = await pb_grpc.InferenceServiceStub(channel).GetEngineStatus(pb.GetEngineStatusRequest())
            assert status.state == pb.ENGINE_STATE_LOADING
    finally:
        await server.stop(0)


async def test_engine_status_reports_the_loaded_model_and_token_totals(stub):
    await generate(stub, pb.GenerateRequest(prompt="Hi", sampling=sampling(4, temperature=0.0)))
    with acting_as(CALLER):
        status = await stub.GetEngineStatus(pb.GetEngineStatusRequest())
    assert status.state == pb.ENGINE_STATE_READY
    assert status.device == "cpu" and status.random_weights and status.max_model_len == 2048
    assert status.stats.max_batch_size == 32 and status.stats.completion_tokens_total >= 4
    assert status.stats.running_requests == 0 and status.stats.queued_requests == 0


async def test_over_quota_is_resource_exhausted_with_retry_after_and_other_projects_go_on(stub):
    superadmin = Identity(subject="root", role=GlobalRole.SUPERADMIN)
    member = Identity(subject="u1", role=GlobalRole.USER, project_id="p-flood", project_role=ProjectRole.USER)
    with acting_as(member):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.SetProjectQuota(pb.SetProjectQuotaRequest(project_id="p-flood"))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(superadmin):
        quota = pb.ProjectQuota(tokens_per_minute=10)
        answer = await stub.SetProjectQuota(pb.SetProjectQuotaRequest(project_id="p-flood", quota=quota))
    assert answer.state.overridden and answer.state.quota.tokens_per_minute == 10
    request = pb.GenerateRequest(prompt="Hello", sampling=sampling(16, temperature=0.0), project_id="p-flood")
    await generate(stub, request)  # 16+ tokens: the window is full
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await generate(stub, request)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(caught.value.trailing_metadata() or ())
    assert 1 <= int(trailers["retry-after"]) <= 60
    # The agents service (a platform service) charging another project is still served.
    await generate(stub, pb.GenerateRequest(prompt="Hello", sampling=sampling(4), project_id="p-other"))
    with acting_as(member):
        state = (await stub.GetProjectQuota(pb.GetProjectQuotaRequest(project_id="p-flood"))).state
    assert state.rejections_total == 1 and state.requests_total == 1 and state.tokens_last_minute > 10
