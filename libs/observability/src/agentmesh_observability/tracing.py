"""OpenTelemetry tracing, off unless the standard OTEL_* variables turn it on.

Off (the default): no SDK provider is installed and every helper here returns
at once (`active()` is one global read), so tracing costs nothing. On: one
SDK TracerProvider per process, exporting over OTLP in batches; the
W3C `traceparent` header travels in gRPC metadata, NATS headers and Temporal
headers, and every span of a request carries its request id.

Turned on by `configure_tracing(service)` (the service skeleton and the gateway
call it at start) when any of these is set, unless `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none`:

- `OTEL_TRACES_EXPORTER`: `otlp` or `console`;
- `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the collector;

and configured by the SDK's other standard variables (`OTEL_EXPORTER_OTLP_PROTOCOL`
`grpc` or `http/protobuf`, `OTEL_SERVICE_NAME` (default `agentmesh-<service>`),
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_BSP_*`, ...).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

REQUEST_ID_ATTRIBUTE = "agentmesh.request_id"
TRACEPARENT_HEADER = "traceparent"
_INSTRUMENTATION = "agentmesh"

_tracer: trace.Tracer | None = None
_provider: TracerProvider | None = None


def active() -> bool:
    """True when spans are recorded (an SDK provider is in use)."""
    return _tracer is not None


def tracer() -> trace.Tracer:
    """The tracer spans are made with (a no-op one while tracing is off)."""
    return _tracer or trace.NoOpTracer()


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(
        exporter or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Install the SDK provider and its exporter when OTEL_* asks for it; True when tracing is on."""
    if not wanted(environ):
        return False
    # Imported here: with tracing off the SDK and the exporters are never loaded.
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: environ.get("OTEL_SERVICE_NAME") or f"agentmesh-{service}"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_exporter(environ)))
    use_provider(provider)
    log.info("tracing on: spans exported (%s)", environ.get("OTEL_TRACES_EXPORTER") or "otlp")
    return True


def _exporter(environ: Mapping[str, str]) -> SpanExporter:
    kind = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={kind!r} is not supported (otlp, console or none)")
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter()
    raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported (grpc or http/protobuf)")


def use_provider(provider: TracerProvider | None) -> None:
    """Record spans with provider (tests pass one with an in-memory exporter); None turns tracing off.

    The first provider also becomes OpenTelemetry's global one, for libraries
    that look it up themselves.
    """
    global _tracer, _provider
    if provider is not None and _provider is None and not _global_provider_set():
        trace.set_tracer_provider(provider)
    _provider = provider
    _tracer = provider.get_tracer(_INSTRUMENTATION) if provider is not None else None


def _global_provider_set() -> bool:
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def shutdown_tracing() -> None:
    """Export what is still buffered and stop (at process exit)."""
    provider = _provider
    use_provider(None)
    if provider is not None:
        provider.shutdown()


def inject(carrier: MutableMapping[str, str]) -> None:
    """Write the current span's `traceparent` into outgoing headers or metadata (nothing while off)."""
    if _tracer is not None:
        propagate.inject(carrier)


def extract(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    """The remote parent a received message or call carries (None while off or when absent)."""
    if _tracer is None or not carrier:
        return None
    return propagate.extract(carrier)


def parent_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    """The remote parent of a stored or forwarded `traceparent` value."""
    return extract({TRACEPARENT_HEADER: traceparent} if traceparent else None)


@contextlib.contextmanager
def span(
    name: str,
    parent: otel_context.Context | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Mapping[str, str] | None = None,
) -> Iterator[trace.Span | None]:
    """A current span for the block (None and no work while tracing is off)."""
    if _tracer is None:
        yield None
        return
    # No exception events: their text may hold tenant data (the status still says ERROR).
    with _tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes, record_exception=False
    ) as current:
        yield current


def set_request_id(request_id: str) -> None:
    """Keep the request id on the current span, so a trace can be found from a log line."""
    if _tracer is not None:
        trace.get_current_span().set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def log_ids() -> dict[str, str]:
    """`trace_id` and `span_id` of the current span, for log lines (empty while off)."""
    if _tracer is None:
        return {}
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}
