"""GenerateMultiplexed, through the client the gateway and the agents service use, against the real
servicer and the real vLLM engine: the same answers as Generate calls, each generation admitted,
refused, cancelled and timed out on its own, and a call that ends fails only what ran on it."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh_core.errors import ResourceExhausted, Unavailable
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_devstack.grpc_testing import stranger_signer
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.generations_client import Generations
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.limits import Limits

from .conftest import CALLER, generate, multiplexed, sampling, start_server, start_server_on, tokens_of


async def test_multiplexed_generations_give_what_generate_calls_give(stub, generations):
    requests = [
        pb.GenerateRequest(prompt=f"Agent {i} reports", sampling=sampling(12 + i, temperature=1.0, seed=i))
        for i in range(8)
    ]
    alone = [await generate(stub, request) for request in requests]
    together = await asyncio.gather(*(multiplexed(generations, request) for request in requests))
    for i, (one, other) in enumerate(zip(alone, together, strict=True)):
        assert tokens_of(other) == tokens_of(one) and len(tokens_of(one)) == 12 + i
        assert "".join(r.text for r in other) == "".join(r.text for r in one)
        assert other[-1].finish_reason == pb.FINISH_REASON_LENGTH and other[-1].usage.completion_tokens == 12 + i
        assert all(r.finish_reason == pb.FINISH_REASON_UNSPECIFIED for r in other[:-1])


async def test_a_bad_multiplexed_generation_fails_alone(generations):
    good = pb.GenerateRequest(prompt="Hello", sampling=sampling(8, temperature=0.0))
    bad = pb.GenerateRequest(prompt="hi", sampling=sampling(5000))
    results = await asyncio.gather(
        multiplexed(generations, good), multiplexed(generations, bad), return_exceptions=True
    )
    assert len(tokens_of(results[0])) == 8
    assert isinstance(results[1], grpc.aio.AioRpcError)
    assert results[1].code() == grpc.StatusCode.INVALID_ARGUMENT and "Traceback" not in results[1].details()
    assert len(tokens_of(await multiplexed(generations, good))) == 8  # the call goes on


async def test_a_multiplexed_generation_past_its_deadline_ends_and_is_aborted(generations, spy):
    with acting_as(CALLER):
        call = generations.generate(pb.GenerateRequest(prompt="Hi", sampling=sampling(1000)), timeout=0.3)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await eventually(lambda: spy.engine.unfinished_requests == 0, timeout=5, what="the engine request to be aborted")


@pytest.mark.parametrize(
    ("signer", "identity", "code"),
    [
        # Signed with a key no service has: a forger.
        (stranger_signer("gateway"), CALLER, grpc.StatusCode.UNAUTHENTICATED),
        # The agents service may assert only its own identity, not a user's.
        (
            ServiceKeys.local("agents").signer,
            Identity(subject="u1", role=GlobalRole.USER),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        # A project's member may not charge another project (not even learn that it exists).
        (
            ServiceKeys.local("gateway").signer,
            Identity(subject="u1", role=GlobalRole.USER, project_id="p-a", project_role=ProjectRole.USER),
            grpc.StatusCode.NOT_FOUND,
        ),
    ],
    ids=["forged", "agents-as-a-user", "other-project"],
)
async def test_each_multiplexed_generation_is_admitted_on_its_own_identity(
    channel, generations, signer, identity, code
):
    request = pb.GenerateRequest(prompt="Hi", sampling=sampling(4), project_id="p-b")
    # The call is opened by a trusted service; only the generation's own identity is wrong.
    assert len(tokens_of(await multiplexed(generations, request))) == 4
    other = Generations(channel, signer, lanes=1)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await multiplexed(other, request, as_=identity)
    finally:
        await other.close()
    assert caught.value.code() == code


async def test_a_multiplexed_generation_over_quota_is_refused_with_its_retry_time(stub, generations):
    superadmin = Identity(subject="root", role=GlobalRole.SUPERADMIN)
    with acting_as(superadmin):
        quota = pb.ProjectQuota(tokens_per_minute=10)
        await stub.SetProjectQuota(pb.SetProjectQuotaRequest(project_id="p-mux", quota=quota))
    request = pb.GenerateRequest(prompt="Hello", sampling=sampling(16, temperature=0.0), project_id="p-mux")
    await multiplexed(generations, request)  # 16+ tokens: the window is full
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await multiplexed(generations, request)
    error = from_rpc_error(caught.value)
    assert isinstance(error, ResourceExhausted) and error.retry_after is not None and 1 <= error.retry_after <= 60


async def test_multiplexed_generations_before_the_model_loads_are_unavailable():
    server = await start_server(Inference(Limits()))
    try:
        async with create_channel(f"127.0.0.1:{server.port}", ServiceKeys.local("gateway").signer) as channel:
            generations = Generations(channel, ServiceKeys.local("gateway").signer)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await multiplexed(generations, pb.GenerateRequest(prompt="hi"))
            assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.UNAVAILABLE, "model loading")
            await generations.close()
    finally:
        await server.stop(0)


async def test_multiplexed_generations_fail_as_unavailable_when_the_server_goes_and_resume_when_back(spy):
    server = await start_server(Inference(Limits(), engine=spy))
    port = server.port
    async with create_channel(f"127.0.0.1:{port}", ServiceKeys.local("gateway").signer) as channel:
        generations = Generations(channel, ServiceKeys.local("gateway").signer, lanes=1)
        with acting_as(CALLER):
            call = generations.generate(pb.GenerateRequest(prompt="Hello", sampling=sampling(500, temperature=0.0)))
        assert isinstance(await call.read(), pb.GenerateResponse)
        await server.stop(0)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in call:
                pass
        assert isinstance(from_rpc_error(caught.value), Unavailable)
        await eventually(
            lambda: spy.engine.unfinished_requests == 0, timeout=5, what="the engine request to be aborted"
        )
        server = await start_server_on(Inference(Limits(), engine=spy), port)
        request = pb.GenerateRequest(prompt="Hi", sampling=sampling(4))

        async def answered() -> bool:
            try:  # the channel reconnects with a back-off: callers ask again, as the agents' client does
                return len(tokens_of(await multiplexed(generations, request))) == 4
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE
                return False

        try:
            await eventually(answered, timeout=10, interval=0.2, what="a generation on a new call")
        finally:
            await generations.close()
            await server.stop(0)
