"""The inference client against a real grpc.aio server: the turn's project goes with each
request, and a turn over its project's quota waits and asks again instead of failing."""

from __future__ import annotations

import pytest

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_agents.adapters.inference_client import InferenceClient
from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.ports import ChatTurn
from agentmesh_core.errors import InvalidInput, ResourceExhausted, Unavailable
from agentmesh_devstack.grpc_testing import channel_to, serving
from agentmesh_observability import context

SERVICE = pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
TURNS = [ChatTurn(role="user", content="hi")]


class QuotaServicer(pb_grpc.InferenceServiceServicer):
    """Refuses the first `refusals` calls for quota, then streams "a b"."""

    def __init__(self, refusals: int, error: Exception | None = None) -> None:
        self.refusals = refusals
        self.error = error
        self.requests: list[pb.GenerateRequest] = []

    async def Generate(self, request, context):
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        if len(self.requests) <= self.refusals:
            raise ResourceExhausted("project inference quota: 10 tokens per minute used", retry_after=3)
        yield pb.GenerateResponse(text="a ")
        yield pb.GenerateResponse(text="b", finish_reason=pb.FINISH_REASON_STOP)


async def run(servicer: QuotaServicer, max_quota_wait: float = 60.0) -> tuple[list[str], list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with serving(SERVICE, lambda s: pb_grpc.add_InferenceServiceServicer_to_server(servicer, s)) as address:
        async with channel_to(address) as channel:
            client = InferenceClient(channel, timeout=10, max_quota_wait=max_quota_wait, sleep=sleep)
            with context.bind(project_id="p-1"):
                chunks = [c async for c in client.stream_chat(TURNS, Sampling(max_tokens=8), "m-1")]
    return chunks, slept


async def test_an_over_quota_turn_waits_the_retry_time_and_completes():
    servicer = QuotaServicer(refusals=2)
    chunks, slept = await run(servicer)
    assert chunks == ["a ", "b"]
    assert len(servicer.requests) == 3
    assert all(r.project_id == "p-1" for r in servicer.requests)
    assert len(slept) == 2 and all(3 <= s <= 3.6 for s in slept)


async def test_a_quota_that_stays_exhausted_defers_the_turn():
    with pytest.raises(Unavailable, match="quota"):
        await run(QuotaServicer(refusals=100), max_quota_wait=10)


async def test_other_errors_are_not_retried():
    servicer = QuotaServicer(refusals=0, error=InvalidInput("prompt too long"))
    with pytest.raises(InvalidInput):
        await run(servicer)
    assert len(servicer.requests) == 1
