"""A gRPC service's entry points, declared once in its main.py:

    ENTRY = ServiceEntry("memory", MemorySettings, "agentmesh_memory.wiring:MemoryWiring")
    serve = ENTRY.serve  # serve(settings, stop): what tests run
    run = ENTRY.run      # `python -m agentmesh_memory`

The wiring module ("module:attribute", as uvicorn names apps) is imported only
once the settings are valid: it pulls in the heavy stacks (torch, Temporal,
vLLM's adapter), and a bad setting should be reported in well under a second.

A service process runs on uvloop's event loop, as vLLM's own server and the
gateway (uvicorn) do. Measured on the whole mesh (bench_round_trip: 2 cores, the
tiny model, 16 agents answering at once; runs alternating on one host), the agents
service used 13.9 and 15.0 ms of CPU a message against 16.3-17.1 ms on asyncio's loop.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import uvloop

from agentmesh_core.gc_heap import freeze_startup_heap
from agentmesh_core.parent_watch import stop_with_parent
from agentmesh_core.settings import CommonSettings, load_settings
from agentmesh_grpc import service
from agentmesh_grpc.server import stop_event_on_signals
from agentmesh_observability.logging import configure_logging
from agentmesh_observability.tracing import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)
S = TypeVar("S", bound=CommonSettings)


@dataclass(frozen=True)
class ServiceEntry(Generic[S]):
    """Name (for logs), settings class and wiring (a Service built from the settings) of one service."""

    name: str
    settings_class: type[S]
    wiring: str
    # How often a thread waiting for the GIL gets it from a busy one (CPython's default: 5 ms),
    # for a service whose event loop shares the process with threads that wait on I/O.
    switch_interval_seconds: float | None = None

    async def serve(self, settings: S, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until stop is set, then stop gracefully; raises when the service fails."""
        module, _, attribute = self.wiring.partition(":")
        build = getattr(importlib.import_module(module), attribute)
        await service.serve(build(settings), stop, on_ready)

    def run(self) -> None:
        """The whole life of the process: settings, logging, tracing, signals, serve, exit status.

        Exit status 2 for bad settings, 1 when the service fails (logged once,
        with its traceback), 0 after a stop.
        """
        configure_logging(self.name)
        settings = load_settings(self.settings_class)
        configure_logging(self.name, settings.log_level)
        configure_tracing(self.name)
        stop_with_parent(settings.stop_with_parent_pid)
        if self.switch_interval_seconds is not None:
            sys.setswitchinterval(self.switch_interval_seconds)
        try:
            uvloop.run(self._serve_until_signalled(settings))
        except Exception:
            log.critical("%s service failed", self.name, exc_info=True)
            raise SystemExit(1) from None
        finally:
            shutdown_tracing()

    async def _serve_until_signalled(self, settings: S) -> None:
        # The process's start-up heap is frozen once the service has started; tests that run a
        # service inside the test process call serve() without it.
        await self.serve(settings, stop_event_on_signals(), freeze_startup_heap)
