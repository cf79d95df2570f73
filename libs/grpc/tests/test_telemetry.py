"""gRPC telemetry: every served call counted and timed by RPC and status code; with
tracing on, a CLIENT span and a SERVER span per call, the server's parent the client's,
carrying the request id; with tracing off, no span and no traceparent on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.errors import NotFound
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_observability import context, tracing

SERVICE = "agentmesh.inference.v1.InferenceService"
CALLER = Identity(subject="test", role=GlobalRole.SERVICE)


class RecordingServicer(pb_grpc.InferenceServiceServicer):
    """GetModelInfo answers, or raises NotFound for model "missing"; Generate streams words."""

    def __init__(self) -> None:
        self.traceparents: list[str | None] = []

    async def GetModelInfo(self, request: pb.GetModelInfoRequest, ctx: Any) -> pb.GetModelInfoResponse:
        metadata = dict(ctx.invocation_metadata())
        self.traceparents.append(metadata.get("traceparent"))
        if metadata.get("x-test-fail"):
            raise NotFound("no such model")
        return pb.GetModelInfoResponse(model="echo")

    async def Generate(self, request: pb.GenerateRequest, ctx: Any) -> AsyncIterator[pb.GenerateResponse]:
        for word in request.prompt.split():
            yield pb.GenerateResponse(text=word)


@pytest.fixture
async def stub() -> AsyncIterator[tuple[pb_grpc.InferenceServiceStub, RecordingServicer]]:
    servicer = RecordingServicer()  # type: ignore[abstract]  # serves two of the RPCs
    server = ServiceServer(ServiceKeys.local("inference").trust, "127.0.0.1:0")
    server.add_service(SERVICE, lambda s: pb_grpc.add_InferenceServiceServicer_to_server(servicer, s))
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}", ServiceKeys.local("gateway").signer)
    try:
        yield pb_grpc.InferenceServiceStub(channel), servicer
    finally:
        await channel.close()
        await server.stop(0)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)


def handled(method: str, code: str) -> float:
    labels = {"grpc_service": SERVICE, "grpc_method": method, "grpc_code": code}
    return REGISTRY.get_sample_value("agentmesh_grpc_server_handled_total", labels) or 0.0


def latency_count(method: str, code: str) -> float:
    labels = {"grpc_service": SERVICE, "grpc_method": method, "grpc_code": code}
    return REGISTRY.get_sample_value("agentmesh_grpc_server_handling_seconds_count", labels) or 0.0


async def test_calls_are_counted_and_timed_by_rpc_and_status(stub: Any) -> None:
    client, _ = stub
    ok, not_found = handled("GetModelInfo", "OK"), handled("GetModelInfo", "NOT_FOUND")
    streamed, timed = handled("Generate", "OK"), latency_count("GetModelInfo", "NOT_FOUND")
    with acting_as(CALLER):
        await client.GetModelInfo(pb.GetModelInfoRequest())
        await client.GetModelInfo(pb.GetModelInfoRequest())
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.GetModelInfo(pb.GetModelInfoRequest(), metadata=(("x-test-fail", "1"),))
        words = [r.text async for r in client.Generate(pb.GenerateRequest(prompt="a b c"))]
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    assert words == ["a", "b", "c"]

    # The server records a call as its handler ends, which may be just after the caller has the answer.
    def recorded() -> bool:
        assert handled("GetModelInfo", "OK") == ok + 2
        assert handled("GetModelInfo", "NOT_FOUND") == not_found + 1
        assert latency_count("GetModelInfo", "NOT_FOUND") == timed + 1
        assert handled("Generate", "OK") == streamed + 1
        return True

    await eventually(recorded, what="the calls recorded")


async def test_unauthenticated_calls_are_counted_with_their_status(stub: Any) -> None:
    client, _ = stub
    before = handled("GetModelInfo", "UNAUTHENTICATED")
    with pytest.raises(grpc.aio.AioRpcError):
        await client.GetModelInfo(pb.GetModelInfoRequest())  # no identity bound
    await eventually(lambda: handled("GetModelInfo", "UNAUTHENTICATED") == before + 1, what="the refusal counted")


def by_kind(finished: tuple[ReadableSpan, ...], kind: trace.SpanKind) -> list[ReadableSpan]:
    return [s for s in finished if s.kind is kind and s.name == f"{SERVICE}/GetModelInfo"]


async def test_with_tracing_on_the_server_span_is_the_client_spans_child(
    stub: Any, spans: InMemorySpanExporter
) -> None:
    client, servicer = stub
    with acting_as(CALLER), context.bind(request_id="req-42"), tracing.span("caller") as caller:
        await client.GetModelInfo(pb.GetModelInfoRequest())
    assert caller is not None
    # The server span ends as its handler does, which may be just after the caller has the answer.
    await eventually(lambda: by_kind(spans.get_finished_spans(), trace.SpanKind.SERVER), what="the server span")
    finished = spans.get_finished_spans()
    [client_span], [server_span] = by_kind(finished, trace.SpanKind.CLIENT), by_kind(finished, trace.SpanKind.SERVER)
    assert client_span.parent is not None and client_span.parent.span_id == caller.get_span_context().span_id
    assert server_span.parent is not None and server_span.parent.span_id == client_span.context.span_id
    assert server_span.context.trace_id == caller.get_span_context().trace_id
    assert server_span.attributes is not None and server_span.attributes[tracing.REQUEST_ID_ATTRIBUTE] == "req-42"
    assert servicer.traceparents[-1] is not None


async def test_a_failed_call_marks_both_spans_as_errors(stub: Any, spans: InMemorySpanExporter) -> None:
    client, _ = stub
    with acting_as(CALLER), pytest.raises(grpc.aio.AioRpcError):
        await client.GetModelInfo(pb.GetModelInfoRequest(), metadata=(("x-test-fail", "1"),))
    await eventually(lambda: by_kind(spans.get_finished_spans(), trace.SpanKind.SERVER), what="the server span")
    finished = spans.get_finished_spans()
    assert len(by_kind(finished, trace.SpanKind.SERVER)) == len(by_kind(finished, trace.SpanKind.CLIENT)) == 1
    for span in by_kind(finished, trace.SpanKind.CLIENT) + by_kind(finished, trace.SpanKind.SERVER):
        assert span.status.status_code is trace.StatusCode.ERROR
        assert (
            span.attributes is not None
            and span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
        )


async def test_with_tracing_off_nothing_is_traced_or_sent(stub: Any) -> None:
    client, servicer = stub
    assert not tracing.active()
    with acting_as(CALLER), tracing.span("caller") as caller:
        await client.GetModelInfo(pb.GetModelInfoRequest())
    assert caller is None
    assert servicer.traceparents == [None]
