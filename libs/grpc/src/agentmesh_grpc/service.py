"""The one skeleton every gRPC service process runs on.

A service plugs in a small `Service` object (its servicers, and how it starts);
the skeleton owns the rest, in this order (1 and 2 are agentmesh_grpc.entry's):

1. settings from the environment (bad ones: one log line, exit status 2);
2. JSON logging, tracing when OTEL_* asks for it, and SIGTERM/SIGINT as a stop event;
3. Prometheus `/metrics` on the listener's metrics address, and the gRPC server
   (every RPC counted, timed and traced) started with health NOT_SERVING;
4. `service.start()`: waits for dependencies (agentmesh_core.startup.wait_for),
   opens resources, pushing how to close each onto an AsyncExitStack;
5. health SERVING (the process entry first freezes the start-up heap,
   agentmesh_core.gc_heap), until stop is set or an essential background task ends;
6. graceful stop of the server, then the service's resources in reverse order.

Stop during start-up ends the process cleanly (status 0); any failure is
logged once and ends it with status 1, so the platform restarts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from agentmesh_core.startup import Stopped
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_observability.metrics import serve_metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """One gRPC service to serve: full name, its module's `register(server, servicer)`, the servicer."""

    name: str
    register: Callable[[grpc.aio.Server, Any], None]
    servicer: Any


@dataclass(frozen=True)
class Listener:
    """Where a service listens, its identity keys (whom it trusts, agentmesh_grpc.trust), and its stop grace.

    `metrics_addr` (`host:port`) is where the process's Prometheus `/metrics` is
    served, from before start-up until the service has stopped; "" serves none.
    """

    addr: str
    keys: ServiceKeys
    shutdown_grace_seconds: float
    metrics_addr: str = ""


class Service(Protocol):
    """What a gRPC service plugs into the skeleton (see each service's wiring.py)."""

    name: str  # short, for logs: "memory"
    listener: Listener
    # The servicers, built before start() (a LateServicer may stand in): gRPC registers them before it listens.
    registrations: Sequence[Registration]

    async def start(self, stack: AsyncExitStack, stop: asyncio.Event) -> Sequence[asyncio.Task[Any]]:
        """Wait for dependencies and open resources, pushing their closing onto stack.

        Raise agentmesh_core.startup.Stopped when stop is set while waiting.
        Returns the essential background tasks: if one ends before stop, the
        service has failed.
        """
        ...


async def serve(service: Service, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until stop is set (then stop gracefully), or raise when the service fails.

    `on_ready` runs once the service has started, just before health turns SERVING.
    """
    listener = service.listener
    server = ServiceServer(listener.keys.trust, listener.addr)
    for registration in service.registrations:
        server.add_servicer(registration.name, registration.register, registration.servicer)
    essential: list[asyncio.Task[Any]] = []
    async with AsyncExitStack() as resources:
        if listener.metrics_addr:
            resources.callback(serve_metrics(listener.metrics_addr).stop)
        # Unwound last: whatever the service's own closing left running is cancelled.
        resources.push_async_callback(_cancel, essential)
        await server.start()
        log.info("%s listening on %s (port %d), NOT_SERVING until ready", service.name, listener.addr, server.port)
        try:
            await _start_and_serve(service, server, resources, stop, essential, on_ready)
        finally:
            # Whatever ends serving stops the background work keyed on stop, side by side with the server.
            stop.set()
            log.info("%s stopping", service.name)
            await server.stop(listener.shutdown_grace_seconds)
    log.info("%s stopped", service.name)


async def _start_and_serve(
    service: Service,
    server: ServiceServer,
    resources: AsyncExitStack,
    stop: asyncio.Event,
    essential: list[asyncio.Task[Any]],
    on_ready: Callable[[], None] | None,
) -> None:
    try:
        essential.extend(await service.start(resources, stop))
    except Stopped:
        log.info("%s stopped before it was ready", service.name)
        return
    if on_ready is not None:
        on_ready()
    await server.set_serving()
    log.info("%s is SERVING", service.name)
    await _until_stopped(stop, essential)


async def _until_stopped(stop: asyncio.Event, essential: Sequence[asyncio.Task[Any]]) -> None:
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({stopping, *essential}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if stop.is_set():
        return
    for task in essential:
        if task.done():
            task.result()  # its error, if it failed
            raise RuntimeError(f"{task.get_name()} stopped unexpectedly")


async def _cancel(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
