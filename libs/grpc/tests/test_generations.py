"""Multiplexed generations, client and server, over a real grpc.aio server with scripted
generations: text batched per window, starts batched per message, each generation
failing or cancelled on its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.errors import InvalidInput
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_devstack.grpc_testing import channel_to, serving
from agentmesh_grpc.generations_client import Generations
from agentmesh_grpc.generations_server import GENERATE_METHOD, MultiplexedCall, merged
from agentmesh_grpc.identity import acting_as, caller
from agentmesh_grpc.trust import ServiceKeys

SERVICE = pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
ME = Identity(subject="agents", role=GlobalRole.SERVICE)


class Scripted(pb_grpc.InferenceServiceServicer):
    """Each generation: `prompt` is "<tokens> <seconds between tokens>"; "fail" raises a bug."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.messages_in = 0
        self.closed: list[str] = []
        self.callers: list[str] = []

    async def GenerateMultiplexed(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        trust = ServiceKeys.local("inference").trust

        async def counted() -> AsyncIterator[pb.GenerateMultiplexedRequest]:
            async for request in request_iterator:
                self.messages_in += 1
                yield request

        call = MultiplexedCall(self._generate, lambda token: trust.admit(token, GENERATE_METHOD), self.window)
        async for response in call.serve(counted()):
            yield response

    async def _generate(self, request: pb.GenerateRequest, identity: Identity) -> AsyncIterator[pb.GenerateResponse]:
        self.callers.append(caller().subject)
        if request.prompt == "fail":
            raise RuntimeError("a bug with tenant data in its message")
        if request.prompt == "invalid":
            raise InvalidInput("prompt is invalid")
        count, pause = request.prompt.split()
        try:
            for index in range(int(count)):
                await asyncio.sleep(float(pause))
                last = index == int(count) - 1
                yield pb.GenerateResponse(
                    text=f"t{index} ",
                    token_ids=[index],
                    finish_reason=pb.FINISH_REASON_LENGTH if last else pb.FINISH_REASON_UNSPECIFIED,
                )
        finally:
            self.closed.append(request.request_id)


async def _read(generations: Generations, prompt: str, request_id: str = "") -> list[pb.GenerateResponse]:
    with acting_as(ME):
        call = generations.generate(pb.GenerateRequest(prompt=prompt, request_id=request_id), timeout=30)
    return [response async for response in call]


async def _serve(window: float) -> AsyncIterator[tuple[Scripted, Generations]]:
    servicer = Scripted(window)
    async with serving(SERVICE, lambda s: pb_grpc.add_InferenceServiceServicer_to_server(servicer, s)) as address:
        async with channel_to(address, calling_as="agents") as channel:
            generations = Generations(channel, ServiceKeys.local("agents").signer, lanes=1)
            yield servicer, generations
            await generations.close()


@pytest.fixture
async def windowed() -> AsyncIterator[tuple[Scripted, Generations]]:
    async for served in _serve(window=0.2):
        yield served


async def test_text_waits_for_the_window_but_first_and_last_chunks_go_at_once(windowed) -> None:
    servicer, generations = windowed
    started = time.monotonic()
    results = await asyncio.gather(*(_read(generations, "20 0.01") for _ in range(3)))
    for responses in results:
        assert [t for r in responses for t in r.token_ids] == list(range(20))
        assert "".join(r.text for r in responses) == "".join(f"t{i} " for i in range(20))
        assert responses[0].token_ids == [0]  # the first token was not held back
        assert responses[-1].finish_reason == pb.FINISH_REASON_LENGTH
        # ~0.2 s of tokens: first, one or two windows' worth, last; not one message per token.
        assert len(responses) <= 5
    assert time.monotonic() - started < 2
    assert servicer.callers == ["agents"] * 3  # each generation ran as its own identity


def test_merged_responses_keep_text_and_tokens_in_order_and_the_last_ones_ending() -> None:
    first = pb.GenerateResponse(text="Hel", token_ids=[7, 8])
    middle = pb.GenerateResponse(text="lo", token_ids=[9])
    last = pb.GenerateResponse(text=" you", token_ids=[10], finish_reason=pb.FINISH_REASON_STOP)
    last.usage.prompt_tokens, last.usage.completion_tokens = 5, 4

    out = merged([first, middle, last])

    assert (out.text, list(out.token_ids)) == ("Hello you", [7, 8, 9, 10])
    assert out.finish_reason == pb.FINISH_REASON_STOP
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (5, 4)
    assert not merged([first, middle]).HasField("usage")  # no ending yet: none is made up
    assert merged([middle]) is middle


async def test_starts_made_together_travel_together(windowed) -> None:
    servicer, generations = windowed
    await asyncio.gather(*(_read(generations, "1 0") for _ in range(40)))
    assert servicer.messages_in < 10


async def test_a_failing_generation_ends_alone_and_says_no_more_than_internal_error(windowed) -> None:
    _, generations = windowed
    results = await asyncio.gather(
        _read(generations, "fail"), _read(generations, "invalid"), _read(generations, "3 0.01"), return_exceptions=True
    )
    assert isinstance(results[0], grpc.aio.AioRpcError)
    assert (results[0].code(), results[0].details()) == (grpc.StatusCode.INTERNAL, "internal error")
    assert isinstance(results[1], grpc.aio.AioRpcError)
    assert (results[1].code(), results[1].details()) == (grpc.StatusCode.INVALID_ARGUMENT, "prompt is invalid")
    assert isinstance(results[2], list) and len([t for r in results[2] for t in r.token_ids]) == 3


async def test_cancelling_a_generation_closes_it_on_the_server(windowed) -> None:
    servicer, generations = windowed
    with acting_as(ME):
        call = generations.generate(pb.GenerateRequest(prompt="1000 0.01", request_id="long"), timeout=30)
    assert isinstance(await call.read(), pb.GenerateResponse)
    call.cancel()
    with pytest.raises(grpc.aio.AioRpcError) as cancelled:
        await call.read()
    assert cancelled.value.code() == grpc.StatusCode.CANCELLED
    for _ in range(100):
        if servicer.closed == ["long"]:
            break
        await asyncio.sleep(0.02)
    assert servicer.closed == ["long"]
    assert len([t for r in await _read(generations, "2 0") for t in r.token_ids]) == 2  # the call goes on


async def test_a_generation_needs_a_bound_identity(windowed) -> None:
    _, generations = windowed
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        generations.generate(pb.GenerateRequest(prompt="1 0"))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_key_used_twice_ends_its_generation_and_a_forged_identity_is_refused() -> None:
    servicer = Scripted(window=0.0)
    token = ServiceKeys.local("agents").signer.issue(ME, "inference")
    first = pb.GenerationStart(key=7, request=pb.GenerateRequest(prompt="20 0.05", request_id="first"), identity=token)
    again = pb.GenerationStart(key=7, request=pb.GenerateRequest(prompt="1 0"), identity=token)
    forged = pb.GenerationStart(key=8, request=pb.GenerateRequest(prompt="1 0"), identity="not-a-token")
    requests = [pb.GenerateMultiplexedRequest(start=[first]), pb.GenerateMultiplexedRequest(start=[again, forged])]
    async with serving(SERVICE, lambda s: pb_grpc.add_InferenceServiceServicer_to_server(servicer, s)) as address:
        async with grpc.aio.insecure_channel(address) as channel:
            call = pb_grpc.InferenceServiceStub(channel).GenerateMultiplexed(
                iter(requests), metadata=(("x-agentmesh-identity", token),)
            )
            chunks = [chunk async for response in call for chunk in response.chunks]
    errors = {chunk.key: chunk.error for chunk in chunks if chunk.HasField("error")}
    assert errors[7].code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and "in use" in errors[7].message
    assert errors[8].code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert servicer.closed == ["first"]  # stopped: its key no longer names one generation
    assert len([t for c in chunks if c.key == 7 and not c.HasField("error") for t in c.response.token_ids]) < 20
