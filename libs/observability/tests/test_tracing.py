"""Tracing is off unless the OTEL_* variables ask for it, and then costs nothing (no SDK
loaded); on, log lines carry the span's ids and NATS headers carry its traceparent."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentmesh_events import bus
from agentmesh_observability import context, tracing
from agentmesh_observability.logging import JsonFormatter


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


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, False),
    ],
)
def test_only_the_otel_variables_turn_tracing_on(environ: dict[str, str], wanted: bool) -> None:
    assert tracing.wanted(environ) is wanted


def test_off_by_default_loads_no_sdk() -> None:
    """A service process with no OTEL_* variables never imports the SDK or an exporter."""
    code = (
        "import sys, agentmesh_grpc.service, agentmesh_gateway.app;"
        "from agentmesh_observability import tracing;"
        "print(tracing.configure_tracing('x', {}), tracing.active(),"
        " sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False []"


def test_console_exporter_from_the_environment_records_and_shuts_down() -> None:
    assert tracing.configure_tracing("test", {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "svc"})
    try:
        assert tracing.active()
        with tracing.span("work") as span:
            assert span is not None and span.get_span_context().is_valid
    finally:
        tracing.shutdown_tracing()
    assert not tracing.active()


@pytest.mark.parametrize(
    "environ",
    [{"OTEL_TRACES_EXPORTER": "zipkin"}, {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}],
)
def test_an_exporter_that_is_not_supported_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="not supported"):
        tracing.configure_tracing("test", environ)
    assert not tracing.active()


def _log_line(message: str) -> dict[str, object]:
    record = logging.makeLogRecord({"name": "t", "levelno": logging.INFO, "levelname": "INFO", "msg": message})
    return json.loads(JsonFormatter("test").format(record))


def test_log_lines_carry_the_current_span(spans: InMemorySpanExporter) -> None:
    assert "trace_id" not in _log_line("outside")
    with tracing.span("work") as span:
        line = _log_line("inside")
    assert span is not None
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")


def test_log_lines_carry_no_ids_while_tracing_is_off() -> None:
    with tracing.span("work") as span:
        line = _log_line("inside")
    assert span is None and "trace_id" not in line


def test_nats_headers_carry_the_trace_to_the_receiver(spans: InMemorySpanExporter) -> None:
    with context.bind(request_id="req-7"), tracing.span("publish") as publisher:
        headers = bus.outgoing_headers(msg_id="m-1")
    assert publisher is not None and headers["am-request-id"] == "req-7"
    with tracing.span("receive", parent=tracing.parent_from_traceparent(bus.trace_parent_from_headers(headers))):
        pass
    [receive] = [s for s in spans.get_finished_spans() if s.name == "receive"]
    assert receive.parent is not None
    assert receive.parent.span_id == publisher.get_span_context().span_id
    assert receive.context is not None and receive.context.trace_id == publisher.get_span_context().trace_id


def test_nats_headers_carry_no_traceparent_while_tracing_is_off() -> None:
    with tracing.span("publish"):
        headers = bus.outgoing_headers(msg_id="m-1")
    assert tracing.TRACEPARENT_HEADER not in headers
    assert bus.trace_parent_from_headers(headers) is None
