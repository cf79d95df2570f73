"""The one way a service builds its gRPC server: interceptors (telemetry, identity), health, reflection."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable
from typing import TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from agentmesh_grpc.interceptors import ServerInterceptor
from agentmesh_grpc.telemetry import TelemetryInterceptor
from agentmesh_grpc.trust import Trust

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
S = TypeVar("S")


class ServiceServer:
    """A grpc.aio server with the standard health service and reflection.

    Health starts NOT_SERVING; call `set_serving()` once the service's
    dependencies are ready (e.g. the model is loaded).
    """

    def __init__(self, trust: Trust, listen_addr: str) -> None:
        self.server = grpc.aio.server(
            # Telemetry outermost: it times the whole call and sees the status the error mapping chose.
            interceptors=[TelemetryInterceptor(), ServerInterceptor(trust)],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._service_names: list[str] = [health.SERVICE_NAME, reflection.SERVICE_NAME]
        self.port = self.server.add_insecure_port(listen_addr)
        if self.port == 0:
            raise OSError(f"cannot listen on {listen_addr}")

    def add_service(self, full_name: str, register: Callable[[grpc.aio.Server], None]) -> None:
        """Register a servicer, e.g. add_service(NAME, lambda s: add_XServicer_to_server(impl, s))."""
        register(self.server)
        self._service_names.append(full_name)

    def add_servicer(self, full_name: str, register: Callable[[grpc.aio.Server, S], None], servicer: S) -> None:
        """Register a servicer through its module's `register(server, servicer)` (every rpc/servicer.py has one)."""
        self.add_service(full_name, lambda server: register(server, servicer))

    async def start(self) -> None:
        reflection.enable_server_reflection(self._service_names, self.server)
        await self.server.start()
        for name in self._names_for_health():
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    async def set_serving(self, serving: bool = True) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in self._names_for_health():
            await self.health.set(name, status)

    def _names_for_health(self) -> Iterable[str]:
        yield ""
        yield from (n for n in self._service_names if n not in (health.SERVICE_NAME, reflection.SERVICE_NAME))

    async def stop(self, grace: float = 5.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    async def wait(self) -> None:
        await self.server.wait_for_termination()


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT: how every service process learns to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop
