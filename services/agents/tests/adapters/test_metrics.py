"""The agents service's figures on real JetStream and PostgreSQL: each inbox partition's
backlog and oldest message, parked turns; and the wrappers that observe the domain
(deliveries in flight and their outcomes, the delivery's span, tool calls by outcome)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from agentmesh_agents.adapters.mailbox_runtime import DURABLE_PREFIX, MailboxRuntime
from agentmesh_agents.adapters.metrics import BacklogGauges, ObservedProcessor
from agentmesh_agents.adapters.tables import turns
from agentmesh_agents.domain.lanes import LaneRunner
from agentmesh_agents.domain.processor import Delivery, Outcome
from agentmesh_db.database import Database
from agentmesh_devstack.infra import NatsServer
from agentmesh_devstack.ports import free_port
from agentmesh_events import bus, subjects
from agentmesh_observability import tracing


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


@pytest.fixture
async def js(tmp_path: Path) -> AsyncIterator[JetStreamContext]:
    """A NATS server of this test's own: the gauges read the shared stream names."""
    server = NatsServer("127.0.0.1", free_port(), tmp_path / "nats", tmp_path)
    server.start()
    nc = await bus.connect(server.url_for("agents"), "metrics-test")
    try:
        stream = nc.jetstream()
        await bus.ensure_streams(stream)
        yield stream
    finally:
        await nc.drain()
        server.stop()


class Gate:
    """A processor that holds each delivery until released, then answers `outcome`."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def process(self, delivery: Delivery) -> Outcome:
        self.entered.set()
        await self.release.wait()
        return self.outcome


async def test_backlog_gauges_read_each_partition_and_the_parked_turns(js: JetStreamContext, db: Database) -> None:
    runtime = MailboxRuntime(js, LaneRunner(ObservedProcessor(Gate(Outcome.ack())), 5.0), partitions=2)
    for partition in range(2):
        await js.add_consumer(subjects.INBOX_STREAM, runtime.consumer_config(partition))
    for n in range(3):
        await js.publish(f"am.inbox.1.p.a{n}", b"{}")
    gauges = BacklogGauges(js, db, partitions=2)
    await gauges.refresh()
    assert gauge("agentmesh_agents_mailbox_pending_messages", partition="1") == 3
    assert gauge("agentmesh_agents_mailbox_pending_messages", partition="0") == 0
    age = gauge("agentmesh_agents_mailbox_oldest_message_age_seconds", partition="1")
    assert age is not None and 0 <= age < 60
    assert gauge("agentmesh_agents_mailbox_oldest_message_age_seconds", partition="0") == 0
    assert gauge("agentmesh_agents_turns_parked") == 0

    # Taken and acknowledged: the partition is empty again.
    subscription = await js.pull_subscribe_bind(f"{DURABLE_PREFIX}1", stream=subjects.INBOX_STREAM)
    for msg in await subscription.fetch(3, timeout=10):
        await msg.ack_sync()
    # A parked turn (waiting for an approval).
    await db.run(lambda connection: connection.execute(turns.insert().values(_parked_turn())))
    await gauges.refresh()
    assert gauge("agentmesh_agents_mailbox_pending_messages", partition="1") == 0
    assert gauge("agentmesh_agents_mailbox_oldest_message_age_seconds", partition="1") == 0
    assert gauge("agentmesh_agents_turns_parked") == 1


def _parked_turn() -> dict[str, object]:
    return {
        "message_id": str(uuid.uuid4()),
        "project_id": str(uuid.uuid4()),
        "agent_id": str(uuid.uuid4()),
        "steps_used": 1,
        "tokens_used": 10,
        "active_ms": 5,
        "transcript": [],
        "parked": {"kind": "approval"},
        "updated_at": datetime.now(UTC),
    }


def delivery(**fields: str | None) -> Delivery:
    return Delivery(project_id="p", agent_id="a", message_id=str(uuid.uuid4()), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("outcome", "label"), [(Outcome.ack(), "done"), (Outcome.retry(1.0), "retry")])
async def test_a_delivery_is_in_flight_while_processed_then_timed_by_outcome(outcome: Outcome, label: str) -> None:
    gate = Gate(outcome)
    observed = ObservedProcessor(gate)
    before = gauge("agentmesh_agents_message_processing_seconds_count", outcome=label) or 0
    in_flight = gauge("agentmesh_agents_turns_in_flight") or 0
    processing = asyncio.create_task(observed.process(delivery()))
    await asyncio.wait_for(gate.entered.wait(), 10)
    assert gauge("agentmesh_agents_turns_in_flight") == in_flight + 1
    gate.release.set()
    assert await processing == outcome
    assert gauge("agentmesh_agents_turns_in_flight") == in_flight
    assert gauge("agentmesh_agents_message_processing_seconds_count", outcome=label) == before + 1


class Failing:
    async def process(self, delivery: Delivery) -> Outcome:
        raise RuntimeError("boom")


async def test_a_delivery_that_raises_is_counted_as_an_error() -> None:
    before = gauge("agentmesh_agents_message_processing_seconds_count", outcome="error") or 0
    with pytest.raises(RuntimeError):
        await ObservedProcessor(Failing()).process(delivery())
    assert gauge("agentmesh_agents_message_processing_seconds_count", outcome="error") == before + 1


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


async def test_a_delivery_continues_the_trace_of_the_span_that_posted_it(spans: InMemorySpanExporter) -> None:
    with tracing.span("post") as poster:
        carrier: dict[str, str] = {}
        tracing.inject(carrier)
    assert poster is not None
    gate = Gate(Outcome.ack())
    gate.release.set()
    await ObservedProcessor(gate).process(delivery(trace_parent=carrier["traceparent"], request_id="req-9"))
    [span] = [s for s in spans.get_finished_spans() if s.name == "agents.process_message"]
    assert span.parent is not None and span.parent.span_id == poster.get_span_context().span_id
    assert span.attributes is not None and span.attributes[tracing.REQUEST_ID_ATTRIBUTE] == "req-9"
