"""The inference client against a real grpc.aio server: the turn's project goes with each
request, a turn over its project's quota waits and asks again instead of failing, and a
call that finds inference unavailable waits (bounded) until it is back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_agents.adapters.inference_client import MAX_INTERRUPTED_STREAMS, InferenceClient
from agentmesh_agents.adapters.monitor_fakes import InMemorySystemEvents
from agentmesh_agents.adapters.system_events import QuotaReports
from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.monitoring.events import SystemEventKind, SystemReporter
from agentmesh_agents.domain.ports import ChatTurn
from agentmesh_agents.domain.readiness import Dependency, Readiness, StreamInterrupted
from agentmesh_core.errors import InvalidInput, ResourceExhausted, Unavailable
from agentmesh_devstack.grpc_testing import MultiplexedByGenerate, channel_to, serving
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_observability import context

SERVICE = pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
TURNS = [ChatTurn(role="user", content="hi")]
# What channel_to signs with (the agents client's identity is its own service's either way).
GATEWAY_SIGNER = ServiceKeys.local("gateway").signer
NOW = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)


class QuotaServicer(MultiplexedByGenerate, pb_grpc.InferenceServiceServicer):
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


async def run(
    servicer: QuotaServicer, max_quota_wait: float = 60.0, quota_reports: QuotaReports | None = None
) -> tuple[list[str], list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with serving(SERVICE, lambda s: pb_grpc.add_InferenceServiceServicer_to_server(servicer, s)) as address:
        async with channel_to(address) as channel:
            client = InferenceClient(
                channel,
                GATEWAY_SIGNER,
                timeout=10,
                max_quota_wait=max_quota_wait,
                sleep=sleep,
                quota_reports=quota_reports,
            )
            with context.bind(project_id="p-1"):
                chunks = [c async for c in client.stream_chat(TURNS, Sampling(max_tokens=8), "m-1")]
    return chunks, slept


async def test_an_over_quota_turn_waits_the_retry_time_and_completes():
    servicer = QuotaServicer(refusals=2)
    chunks, slept = await run(servicer)
    assert "".join(chunks) == "a b"  # chunks that come together are sent together
    assert len(servicer.requests) == 3
    assert all(r.project_id == "p-1" for r in servicer.requests)
    assert len(slept) == 2 and all(3 <= s <= 3.6 for s in slept)


async def test_quota_refusals_are_reported_to_the_monitor_once_a_minute():
    events = InMemorySystemEvents()
    minutes = iter([NOW, NOW + timedelta(seconds=20), NOW + timedelta(minutes=1)])
    reports = QuotaReports(SystemReporter(events, clock=lambda: next(minutes)))
    chunks, _ = await run(QuotaServicer(refusals=3), quota_reports=reports)
    assert "".join(chunks) == "a b"

    def two_reported() -> bool:
        assert len(events.events) == 2, events.events  # the second refusal fell in the first's minute
        return True

    await eventually(two_reported, timeout=5, what="the quota reports")
    assert {e.kind for e in events.events} == {SystemEventKind.QUOTA_REJECTED}
    assert [e.project_id for e in events.events] == ["p-1", "p-1"] and events.events[0].agent_id == ""
    assert events.events[0].detail == "project inference quota: 10 tokens per minute used"
    # The message rate reports the same minute under the same id: one event, whichever refused.
    assert events.events[0].id == f"quota-rejected-p-1-{int(NOW.timestamp() // 60)}"


async def test_a_quota_that_stays_exhausted_defers_the_turn():
    with pytest.raises(Unavailable, match="quota"):
        await run(QuotaServicer(refusals=100), max_quota_wait=10)


async def test_other_errors_are_not_retried():
    servicer = QuotaServicer(refusals=0, error=InvalidInput("prompt too long"))
    with pytest.raises(InvalidInput):
        await run(servicer)
    assert len(servicer.requests) == 1


class FlakyServicer(MultiplexedByGenerate, pb_grpc.InferenceServiceServicer):
    """Refuses calls while `down` (UNAVAILABLE, as a restarting server does); the first `broken`
    calls break (UNAVAILABLE) after their first chunk."""

    def __init__(self, down: bool = False, broken: int = 0) -> None:
        self.down = down
        self.broken = broken
        self.requests: list[pb.GenerateRequest] = []

    async def Generate(self, request, context):
        self.requests.append(request)
        if self.down:
            raise Unavailable("model loading")
        yield pb.GenerateResponse(text="a ")
        if len(self.requests) <= self.broken:
            raise Unavailable("engine died")
        yield pb.GenerateResponse(text="b", finish_reason=pb.FINISH_REASON_STOP)


class Health:
    """The probe readiness asks: the test says when inference is healthy."""

    def __init__(self, servicer: FlakyServicer) -> None:
        self.servicer = servicer

    async def __call__(self) -> bool:
        return not self.servicer.down


@contextlib.asynccontextmanager
async def flaky_client(servicer: FlakyServicer, wait_seconds: float = 30) -> AsyncIterator[InferenceClient]:
    readiness = Readiness({Dependency.INFERENCE: Health(servicer)}, wait_seconds=wait_seconds, interval=0.05)
    stop = asyncio.Event()
    checking = asyncio.create_task(readiness.run(stop))
    try:
        async with serving(SERVICE, lambda s: pb_grpc.add_InferenceServiceServicer_to_server(servicer, s)) as address:
            async with channel_to(address) as channel:
                yield InferenceClient(channel, GATEWAY_SIGNER, timeout=10, readiness=readiness)
    finally:
        stop.set()
        await checking


async def test_a_call_waits_for_inference_to_come_back_and_completes():
    servicer = FlakyServicer(down=True)
    async with flaky_client(servicer) as client:
        streaming = asyncio.ensure_future(_chunks(client))
        await eventually(lambda: len(servicer.requests) >= 1, timeout=10, what="the first refused call")
        asyncio.get_running_loop().call_later(0.5, setattr, servicer, "down", False)
        assert "".join(await asyncio.wait_for(streaming, timeout=20)) == "a b"
    assert not servicer.down and len(servicer.requests) >= 2


async def test_a_call_gives_up_once_inference_stayed_away_for_the_wait_limit():
    servicer = FlakyServicer(down=True)
    async with flaky_client(servicer, wait_seconds=0.5) as client:
        with pytest.raises(Unavailable, match="inference service unavailable") as raised:
            await asyncio.wait_for(_chunks(client), timeout=20)
    assert not isinstance(raised.value, StreamInterrupted)


async def test_a_stream_broken_after_its_first_chunk_is_an_interruption():
    servicer = FlakyServicer(broken=1)
    async with flaky_client(servicer) as client:
        chunks: list[str] = []
        with pytest.raises(StreamInterrupted):
            async for chunk in client.stream_chat(TURNS, Sampling(max_tokens=8), "m-1"):
                chunks.append(chunk)
    assert chunks == ["a "]  # the caller saw a partial answer: it is the one to restart the turn


async def test_generate_asks_again_after_an_interruption_and_gives_up_after_a_few():
    servicer = FlakyServicer(broken=2)
    async with flaky_client(servicer) as client:
        generation = await client.generate(TURNS, Sampling(max_tokens=8), "m-1", "")
    assert generation.text == "a b"
    assert len(servicer.requests) == 3

    servicer = FlakyServicer(broken=100)
    async with flaky_client(servicer) as client:
        with pytest.raises(Unavailable):
            await client.generate(TURNS, Sampling(max_tokens=8), "m-1", "")
    assert len(servicer.requests) == MAX_INTERRUPTED_STREAMS


async def _chunks(client: InferenceClient) -> list[str]:
    return [c async for c in client.stream_chat(TURNS, Sampling(max_tokens=8), "m-1")]
