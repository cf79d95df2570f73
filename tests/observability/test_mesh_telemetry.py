"""Traces across the real services, run in this process.

Every gRPC service runs as its process would (`main.serve`: the service skeleton,
its wiring, real PostgreSQL, NATS, Temporal, vLLM on the tiny model, the packaged
embedding model), the gateway is the real app with its lifespan, and tracing records
into an in-memory exporter (the same SDK provider the OTEL_* variables would set up,
minus the OTLP exporter). One process makes the spans of every service readable in
one place; the wire between them is still gRPC, NATS and Temporal.

- one REST message -> one trace: gateway, agents (the RPC, then the mailbox delivery
  continued from the NATS header), memory, inference, each span's parent in the trace;
- a job started over REST -> one trace: gateway, scheduler, Temporal's workflow and activity
  (the SDK's interceptor carries it in Temporal's headers), agents, inference;
- a scheduled message -> one trace from Temporal's activity through agents to inference.

(Each service's own /metrics, one process each, is scraped in tests/e2e/test_observability.py.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from pydantic import SecretStr

from agentmesh_agents.main import serve as serve_agents
from agentmesh_agents.settings import AgentsSettings
from agentmesh_devstack.infra import EmbeddedPostgres
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_gateway.app import create_app
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_inference.main import serve as serve_inference
from agentmesh_inference.settings import InferenceSettings
from agentmesh_memory.main import serve as serve_memory
from agentmesh_memory.settings import MemorySettings
from agentmesh_observability import tracing
from agentmesh_scheduler.main import serve as serve_scheduler
from agentmesh_scheduler.settings import SchedulerSettings

# Slow: vLLM and the embedding model load in the module fixture, which the first test's timeout covers.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ADMIN_PASSWORD = "telemetry-admin-password"
GRPC_SERVICES = ("inference", "memory", "agents", "scheduler")
SERVICE_PREFIX = {
    "agents": "agentmesh.agents.v1.AgentService/",
    "memory": "agentmesh.memory.v1.MemoryService/",
    "inference": "agentmesh.inference.v1.InferenceService/",
    "scheduler": "agentmesh.scheduler.v1.SchedulerService/",
}


@dataclass
class Mesh:
    api: httpx.AsyncClient
    admin: dict[str, str]
    spans: InMemorySpanExporter


@pytest.fixture(scope="module")
async def mesh(
    postgres_server: EmbeddedPostgres, nats_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Mesh]:
    database_url = postgres_server.database_url(f"t_{uuid.uuid4().hex[:16]}")  # one for the module's services
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    run_dir = tmp_path_factory.mktemp("telemetry-mesh")
    addr = {name: f"127.0.0.1:{free_port()}" for name in GRPC_SERVICES}
    metrics = {name: f"127.0.0.1:{free_port()}" for name in GRPC_SERVICES}
    stop = asyncio.Event()
    services: list[tuple[str, Callable[[Any, asyncio.Event], Awaitable[None]], Any]] = [
        (
            "inference",
            serve_inference,
            InferenceSettings(
                run_dir=run_dir, inference_listen_addr=addr["inference"], inference_metrics_addr=metrics["inference"]
            ),
        ),
        (
            "memory",
            serve_memory,
            MemorySettings(
                database_url=database_url,
                run_dir=run_dir,
                memory_listen_addr=addr["memory"],
                memory_metrics_addr=metrics["memory"],
                agents_service_addr=addr["agents"],
            ),
        ),
        (
            "agents",
            serve_agents,
            AgentsSettings(
                database_url=database_url,
                nats_url=nats_url,
                agents_listen_addr=addr["agents"],
                agents_metrics_addr=metrics["agents"],
                memory_service_addr=addr["memory"],
                inference_service_addr=addr["inference"],
                inbox_partitions=2,
            ),
        ),
        (
            "scheduler",
            serve_scheduler,
            SchedulerSettings(
                database_url=database_url,
                temporal_address=temporal_address,
                task_queue=f"telemetry-{uuid.uuid4().hex[:8]}",
                scheduler_listen_addr=addr["scheduler"],
                scheduler_metrics_addr=metrics["scheduler"],
                agents_service_addr=addr["agents"],
            ),
        ),
    ]
    tasks: list[asyncio.Task[None]] = []
    gateway = GatewaySettings(
        database_url=database_url,
        nats_url=nats_url,
        temporal_address=temporal_address,
        admin_password=SecretStr(ADMIN_PASSWORD),
        **{f"{name}_service_addr": address for name, address in addr.items()},
    )
    try:
        # One at a time: Alembic's context is process-wide, so two services of one process
        # must not migrate at once (in production each has its own process).
        for name, serve, settings in services:
            tasks.append(asyncio.create_task(serve(settings, stop), name=name))
            await _wait_until_serving({name: addr[name]}, tasks)
        app = create_app(gateway)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as api:
                login = await api.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
                assert login.status_code == 200, login.text
                admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
                yield Mesh(api, admin, exporter)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        tracing.use_provider(None)
        provider.shutdown()


async def _wait_until_serving(addr: dict[str, str], tasks: list[asyncio.Task[None]]) -> None:
    channels = {name: create_channel(address, ServiceKeys.local("gateway").signer) for name, address in addr.items()}
    try:

        async def all_serving() -> bool:
            for task in tasks:
                if task.done():
                    task.result()  # a service that failed to start: its error
                    raise AssertionError(f"{task.get_name()} stopped while starting")
            waiting = [name for name, channel in channels.items() if not await check_health(channel)]
            assert not waiting, f"not serving yet: {waiting}"
            return True

        # vLLM and the embedding model load here: minutes on a busy 2-core machine.
        await eventually(all_serving, timeout=600, interval=0.5, what="every service SERVING")
    finally:
        for channel in channels.values():
            await channel.close()


async def _project_and_agent(mesh: Mesh) -> tuple[str, str]:
    project = await mesh.api.post("/projects", headers=mesh.admin, json={"name": f"t-{uuid.uuid4().hex[:6]}"})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    agent = await mesh.api.post(
        f"/projects/{project_id}/agents",
        headers=mesh.admin,
        json={
            "name": "helper",
            "purpose": "answers questions",
            "system_prompt": "You are a helpful assistant.",
            "model_config": {"temperature": 0.0, "max_tokens": 8},
        },
    )
    assert agent.status_code == 201, agent.text
    return project_id, agent.json()["id"]


async def _replied(mesh: Mesh, project: str, message_id: str) -> None:
    async def complete() -> bool:
        listed = await mesh.api.get(f"/projects/{project}/messages", headers=mesh.admin, params={"limit": 200})
        statuses = {m["id"]: m["status"] for m in listed.json()["items"]}
        return statuses.get(message_id) == "complete"

    await eventually(complete, timeout=120, interval=0.3, what=f"message {message_id} answered")


def _trace_of(spans: tuple[ReadableSpan, ...], trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


def _assert_linked(spans: list[ReadableSpan]) -> ReadableSpan:
    """One root; every other span's parent is a span of the same trace. Returns the root."""
    ids = {s.context.span_id for s in spans if s.context is not None}
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1, [s.name for s in roots]
    for span in spans:
        if span.parent is not None:
            assert span.parent.span_id in ids, f"{span.name}: its parent is not in the trace"
    return roots[0]


def _parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, span.name
    return next(s for s in spans if s.context is not None and s.context.span_id == span.parent.span_id)


def _has_ancestor(span: ReadableSpan, ancestor: ReadableSpan, spans: list[ReadableSpan]) -> bool:
    current = span
    while current.parent is not None:
        current = _parent_of(current, spans)
        if current is ancestor:
            return True
    return False


def _server(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.kind is trace.SpanKind.SERVER and s.name.startswith(prefix)]


async def test_one_rest_message_is_one_trace_across_the_services(mesh: Mesh) -> None:
    project, agent = await _project_and_agent(mesh)
    mesh.spans.clear()
    sent = await mesh.api.post(
        f"/projects/{project}/agents/{agent}/messages", headers=mesh.admin, json={"content": "Hello?"}
    )
    assert sent.status_code == 202, sent.text
    request_id = sent.headers["x-request-id"]
    await _replied(mesh, project, sent.json()["message_id"])

    def the_trace() -> list[ReadableSpan]:
        finished = mesh.spans.get_finished_spans()
        [http] = [s for s in finished if s.name == "POST /projects/{project_id}/agents/{agent_id}/messages"]
        assert http.context is not None
        spans = _trace_of(finished, http.context.trace_id)
        # The mailbox span ends once the turn is settled: after the reply is stored.
        assert [s for s in spans if s.name == "agents.process_message"]
        assert _server(spans, SERVICE_PREFIX["inference"])
        return spans

    spans = await eventually(the_trace, timeout=30, what="the message's trace, mailbox span included")
    root = _assert_linked(spans)
    assert root.name == "POST /projects/{project_id}/agents/{agent_id}/messages"
    assert root.kind is trace.SpanKind.SERVER
    assert root.attributes is not None and root.attributes[tracing.REQUEST_ID_ATTRIBUTE] == request_id

    [send] = _server(spans, SERVICE_PREFIX["agents"] + "SendMessage")
    assert _has_ancestor(send, root, spans)
    assert send.attributes is not None and send.attributes[tracing.REQUEST_ID_ATTRIBUTE] == request_id
    # The NATS hop: the delivery's span continues the span that published the message.
    [delivery] = [s for s in spans if s.name == "agents.process_message"]
    assert _has_ancestor(delivery, send, spans)
    assert delivery.attributes is not None and delivery.attributes[tracing.REQUEST_ID_ATTRIBUTE] == request_id
    inference = _server(spans, SERVICE_PREFIX["inference"])
    memory = _server(spans, SERVICE_PREFIX["memory"])
    assert inference and memory, sorted({s.name for s in spans})
    # The memory search starts when SendMessage stores the message (agents' recall ahead),
    # so it runs under SendMessage; generation runs under the delivery.
    for span, caller in [(span, delivery) for span in inference] + [(span, send) for span in memory]:
        assert _has_ancestor(span, caller, spans), span.name
        # Each server span's parent is its caller's CLIENT span.
        assert _parent_of(span, spans).kind is trace.SpanKind.CLIENT


async def test_a_job_started_over_rest_is_one_trace_through_temporal(mesh: Mesh) -> None:
    project, agent = await _project_and_agent(mesh)
    steps_before = _sample("agentmesh_scheduler_job_steps_total", status="completed")
    created = await mesh.api.post(
        f"/projects/{project}/jobs",
        headers=mesh.admin,
        json={"name": "traced", "steps": [{"id": "only", "agent_id": agent, "input": "Hello?"}]},
    )
    assert created.status_code == 201, created.text
    job = created.json()["id"]

    async def completed() -> bool:
        answer = await mesh.api.get(f"/projects/{project}/jobs/{job}", headers=mesh.admin)
        return answer.json()["status"] == "completed"

    await eventually(completed, timeout=180, interval=0.5, what=f"job {job} completed")

    def the_trace() -> list[ReadableSpan]:
        finished = mesh.spans.get_finished_spans()
        [http] = [s for s in finished if s.name == "POST /projects/{project_id}/jobs"]
        assert http.context is not None
        spans = _trace_of(finished, http.context.trace_id)
        assert [s for s in spans if s.name == "agents.process_message"]
        assert _server(spans, SERVICE_PREFIX["inference"])
        return spans

    spans = await eventually(the_trace, timeout=60, what="the job's trace, to inference")
    root = _assert_linked(spans)
    assert root.name == "POST /projects/{project_id}/jobs"
    [create] = _server(spans, SERVICE_PREFIX["scheduler"])
    [step] = [s for s in spans if s.name == "RunActivity:start_job_step"]
    [send] = _server(spans, SERVICE_PREFIX["agents"] + "SendMessage")
    [delivery] = [s for s in spans if s.name == "agents.process_message"]
    assert _has_ancestor(create, root, spans)
    assert [s for s in spans if s.name == "RunWorkflow:JobWorkflow" and _has_ancestor(s, create, spans)]
    assert _has_ancestor(step, create, spans) and _has_ancestor(send, step, spans)
    assert _has_ancestor(delivery, send, spans)
    for span in _server(spans, SERVICE_PREFIX["inference"]):
        assert _has_ancestor(span, delivery, spans)
    # The scheduler's worker counted it (its Temporal interceptor).
    assert _sample("agentmesh_scheduler_job_steps_total", status="completed") == steps_before + 1
    assert _sample("agentmesh_scheduler_activities_total", activity="start_job_step", result="ok") >= 1


def _sample(name: str, **labels: str) -> float:
    """A series' value in this process's registry (every in-process service shares it)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_scheduled_message_is_one_trace_from_temporal_to_inference(mesh: Mesh) -> None:
    project, agent = await _project_and_agent(mesh)
    fires_before = _sample("agentmesh_scheduler_schedule_fires_total")
    created = await mesh.api.post(
        f"/projects/{project}/schedules",
        headers=mesh.admin,
        json={"agent_id": agent, "interval_seconds": 2, "payload": "scheduled ping"},
    )
    assert created.status_code == 201, created.text
    schedule = created.json()["id"]
    try:

        def a_scheduled_trace() -> list[ReadableSpan]:
            finished = mesh.spans.get_finished_spans()
            runs = [s for s in finished if s.name == "RunActivity:send_scheduled_message"]
            for run in runs:
                assert run.context is not None
                spans = _trace_of(finished, run.context.trace_id)
                if _server(spans, SERVICE_PREFIX["inference"]) and [
                    s for s in spans if s.name == "agents.process_message"
                ]:
                    return spans
            raise AssertionError(f"{len(runs)} scheduled runs, none traced to inference yet")

        spans = await eventually(a_scheduled_trace, timeout=120, interval=0.5, what="a scheduled message's trace")
    finally:
        await mesh.api.delete(f"/projects/{project}/schedules/{schedule}", headers=mesh.admin)
    _assert_linked(spans)
    assert _sample("agentmesh_scheduler_schedule_fires_total") > fires_before
    [run] = [s for s in spans if s.name == "RunActivity:send_scheduled_message"]
    [send] = _server(spans, SERVICE_PREFIX["agents"] + "SendMessage")
    [delivery] = [s for s in spans if s.name == "agents.process_message"]
    assert _has_ancestor(send, run, spans) and _has_ancestor(delivery, send, spans)
    for span in _server(spans, SERVICE_PREFIX["inference"]):
        assert _has_ancestor(span, delivery, spans)
