"""Metrics and traces of gRPC calls, as interceptors every server and channel gets.

Server side (outermost interceptor, so it sees the status the error mapping
chose): a count and a latency per RPC and status code, and, when tracing is on,
a SERVER span whose parent is the caller's `traceparent`. Client side: a CLIENT
span per call and its `traceparent` in the metadata (tracing on only).

Series (prometheus-client's default registry, see agentmesh_observability.metrics):
`agentmesh_grpc_server_handled_total{grpc_service,grpc_method,grpc_code}` and
`agentmesh_grpc_server_handling_seconds{grpc_service,grpc_method,grpc_code}`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import Counter, Histogram

from agentmesh_observability import tracing

if TYPE_CHECKING:
    _Handler = grpc.RpcMethodHandler[Any, Any]
    _Context = grpc.aio.ServicerContext[Any, Any]

_LABELS = ("grpc_service", "grpc_method", "grpc_code")
HANDLED = Counter("agentmesh_grpc_server_handled_total", "gRPC calls served, by RPC and status code", _LABELS)
HANDLING = Histogram(
    "agentmesh_grpc_server_handling_seconds",
    "Time to serve a gRPC call (a stream: to its end), by RPC and status code",
    _LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
# Probes and reflection: counted, never traced (a span per health check is noise).
_UNTRACED_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name


def _code(ctx: _Context, error: BaseException | None) -> grpc.StatusCode:
    """The status the call ended with: set by an abort (the error mapping's), else from how it ended."""
    code = ctx.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if error is None:
        return grpc.StatusCode.OK
    return grpc.StatusCode.CANCELLED if isinstance(error, asyncio.CancelledError) else grpc.StatusCode.UNKNOWN


class ServedWork:
    """One unit of served work, a call or a multiplexed generation: counted, timed and, when
    tracing is on (and `traced`), a SERVER span continuing the caller's trace context."""

    def __init__(self, method: str, carrier: Mapping[str, str], traced: bool = True) -> None:
        self.service, self.name = _split(method)
        self.started = time.perf_counter()
        self.span: trace.Span | None = None
        if traced and tracing.active() and not method.startswith(_UNTRACED_PREFIXES):
            self.span = tracing.tracer().start_span(
                method.lstrip("/"),
                context=tracing.extract(dict(carrier)),
                kind=trace.SpanKind.SERVER,
                attributes={"rpc.system": "grpc", "rpc.service": self.service, "rpc.method": self.name},
            )
            # Never detached: each call (each generation) runs in its own task, so the span ends with it.
            otel_context.attach(trace.set_span_in_context(self.span))

    def end(self, code: grpc.StatusCode) -> None:
        labels = (self.service, self.name, code.name)
        HANDLED.labels(*labels).inc()
        HANDLING.labels(*labels).observe(time.perf_counter() - self.started)
        if self.span is not None:
            self.span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code is not grpc.StatusCode.OK:
                self.span.set_status(trace.StatusCode.ERROR, code.name)
            self.span.end()


def _served(method: str, ctx: _Context, traced: bool = True) -> ServedWork:
    traced = traced and tracing.active()  # the metadata is read only for a span
    metadata = {k: v for k, v in (ctx.invocation_metadata() or ()) if isinstance(v, str)} if traced else {}
    return ServedWork(method, metadata, traced)


class TelemetryInterceptor(grpc.aio.ServerInterceptor):
    """Counts, times and (when tracing is on) traces every served call."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[_Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> _Handler | None:
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _observe_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _observe_stream(handler.unary_stream, method),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream:
            # Long-lived (a multiplexed call): its generations are traced, each on its own.
            return grpc.stream_stream_rpc_method_handler(
                _observe_stream(handler.stream_stream, method, traced=False),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # the identity interceptor refuses client-streaming


def _observe_unary(behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[[Any, _Context], Awaitable[Any]]:
    async def observed(request: Any, ctx: _Context) -> Any:
        call = _served(method, ctx)
        error: BaseException | None = None
        try:
            return await behavior(request, ctx)
        except BaseException as raised:
            error = raised
            raise
        finally:
            call.end(_code(ctx, error))

    return observed


def _observe_stream(
    behavior: Callable[..., AsyncIterator[Any]], method: str, traced: bool = True
) -> Callable[[Any, _Context], AsyncIterator[Any]]:
    async def observed(request: Any, ctx: _Context) -> AsyncIterator[Any]:
        call = _served(method, ctx, traced)
        error: BaseException | None = None
        try:
            async for item in behavior(request, ctx):
                yield item
        except BaseException as raised:
            error = raised
            raise
        finally:
            call.end(_code(ctx, error))

    return observed


def client_span(method: str) -> tuple[trace.Span, dict[str, str]]:
    """A CLIENT span for work on `method` (tracing on), and the trace context to send with it."""
    service, name = _split(method)
    span = tracing.tracer().start_span(
        method.lstrip("/"),
        kind=trace.SpanKind.CLIENT,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
    )
    carrier: dict[str, str] = {}
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        tracing.inject(carrier)
    finally:
        otel_context.detach(token)
    return span, carrier


def _traced(details: grpc.aio.ClientCallDetails) -> tuple[trace.Span, grpc.aio.ClientCallDetails]:
    method = details.method.decode() if isinstance(details.method, bytes) else details.method
    span, carrier = client_span(method)
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    for key, value in carrier.items():
        metadata[key] = value
    return span, grpc.aio.ClientCallDetails(
        method=details.method,
        timeout=details.timeout,
        metadata=metadata,
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


def finish_span(span: trace.Span, code: grpc.StatusCode) -> None:
    """End a CLIENT span with the status its call (or generation) ended with."""
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code is not grpc.StatusCode.OK:
        span.set_status(trace.StatusCode.ERROR, code.name)
    span.end()


def _end_when_done(span: trace.Span) -> Callable[[Any], None]:
    async def end(call: Any) -> None:
        finish_span(span, grpc.StatusCode.CANCELLED if call.cancelled() else await call.code())  # done: answers at once

    def done(call: Any) -> None:
        # grpc.aio's call.code() is a coroutine; a done callback cannot await it.
        _ending.add(task := asyncio.ensure_future(end(call)))
        task.add_done_callback(_ending.discard)

    return done


_ending: set[asyncio.Future[None]] = set()


class UnaryTracingInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """A CLIENT span per unary call, its traceparent in the metadata (nothing while tracing is off)."""

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[grpc.aio.UnaryUnaryCall[Any, Any]]],
        details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> grpc.aio.UnaryUnaryCall[Any, Any]:
        if not tracing.active():
            return await continuation(details, request)
        span, traced = _traced(details)
        call = await continuation(traced, request)
        # Awaited here, so the span ends with the answer (no task per call); the caller's own
        # await of the call then returns the answer, or raises its error, at once.
        try:
            await call
        except grpc.aio.AioRpcError as error:
            finish_span(span, error.code())
        except asyncio.CancelledError:
            finish_span(span, grpc.StatusCode.CANCELLED)
            raise
        else:
            finish_span(span, grpc.StatusCode.OK)
        return call


class StreamTracingInterceptor(grpc.aio.UnaryStreamClientInterceptor):
    """A CLIENT span per server-streaming call, its traceparent in the metadata (nothing while off)."""

    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[grpc.aio.UnaryStreamCall[Any, Any]]],
        details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> grpc.aio.UnaryStreamCall[Any, Any]:
        if not tracing.active():
            return await continuation(details, request)
        span, traced = _traced(details)
        call = await continuation(traced, request)
        call.add_done_callback(_end_when_done(span))
        return call
