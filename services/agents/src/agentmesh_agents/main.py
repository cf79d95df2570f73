"""Composition root: settings -> adapters -> domain -> servicer -> server, and signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client
from pydantic import ValidationError

from agentmesh.agents.v1 import agent_service_pb2, agent_service_pb2_grpc
from agentmesh_agents.adapters.inference_client import InferenceClient
from agentmesh_agents.adapters.memory_client import MemoryClient
from agentmesh_agents.adapters.migrations import MIGRATIONS_DIR
from agentmesh_agents.settings import AgentsSettings
from agentmesh_agents.wiring import build_components
from agentmesh_core.tokens import IdentityTokens
from agentmesh_db.database import Database
from agentmesh_db.migrations import upgrade_to_head
from agentmesh_events import bus
from agentmesh_events.bus import ensure_streams
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.server import ServiceServer, stop_event_on_signals
from agentmesh_observability.logging import configure_logging

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE_NAME = agent_service_pb2.DESCRIPTOR.services_by_name["AgentService"].full_name


class _StoppedDuringStartup(Exception):
    """A stop signal came while waiting for a dependency."""


async def _until_ready(what: str, attempt: Callable[[], Awaitable[T]], stop: asyncio.Event) -> T:
    """Retry a start-up step with backoff, so the service may start before its dependencies."""
    delay = 0.5
    while True:
        try:
            return await attempt()
        except Exception as error:  # noqa: BLE001 - any failure here means "not ready yet"
            if stop.is_set():
                raise _StoppedDuringStartup from None
            log.warning("%s not ready (%s); retrying in %.1fs", what, type(error).__name__, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, 10.0)


async def serve(settings: AgentsSettings, stop: asyncio.Event) -> None:
    """Run the service until stop is set, then shut down gracefully."""
    tokens = IdentityTokens(settings.internal_secret.get_secret_value())
    db = Database(settings.database_url)
    try:
        await _until_ready(
            "database", lambda: asyncio.to_thread(upgrade_to_head, db.engine, MIGRATIONS_DIR, "agents"), stop
        )
        nc: Client = await _until_ready("nats", lambda: bus.connect(settings.nats_url, "agents"), stop)
    except _StoppedDuringStartup:
        db.dispose()
        log.info("agents service stopped before it was ready")
        return
    js = nc.jetstream()
    try:
        await _until_ready("jetstream streams", lambda: ensure_streams(js), stop)
    except _StoppedDuringStartup:
        await nc.close()
        db.dispose()
        log.info("agents service stopped before it was ready")
        return

    memory_channel = create_channel(settings.memory_service_addr, tokens)
    inference_channel = create_channel(settings.inference_service_addr, tokens)
    components = build_components(
        settings,
        db,
        js,
        InferenceClient(inference_channel, settings.inference_timeout_seconds),
        MemoryClient(memory_channel, settings.memory_timeout_seconds),
    )
    server = ServiceServer(tokens, settings.agents_listen_addr)
    server.add_service(
        SERVICE_NAME, lambda s: agent_service_pb2_grpc.add_AgentServiceServicer_to_server(components.servicer, s)
    )
    await server.start()
    await components.runtime.start()
    sweeping = asyncio.create_task(components.recovery.run(stop, settings.recovery_interval_seconds))
    await server.set_serving()
    log.info("agents service serving on %s (port %d)", settings.agents_listen_addr, server.port)

    await stop.wait()
    log.info("agents service stopping")
    await server.set_serving(False)
    # RPCs and in-flight mailbox work wind down side by side, within one grace period.
    await asyncio.gather(
        server.stop(grace=settings.shutdown_grace_seconds),
        components.runtime.stop(grace=settings.shutdown_grace_seconds),
    )
    await sweeping
    with contextlib.suppress(Exception):
        await nc.drain()
    await memory_channel.close()
    await inference_channel.close()
    db.dispose()
    log.info("agents service stopped")


async def _main(settings: AgentsSettings) -> None:
    await serve(settings, stop_event_on_signals())


def run() -> None:
    """Entry point of `python -m agentmesh_agents`."""
    try:
        settings = AgentsSettings()
    except ValidationError as error:
        configure_logging("agents")
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        log.error("invalid settings: %s", problems)
        raise SystemExit(2) from None
    configure_logging("agents", settings.log_level)
    asyncio.run(_main(settings))
