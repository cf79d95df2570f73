"""Readiness of every dependency, probed concurrently with short timeouts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import unquote, urlparse

import grpc

from agentmesh_db.database import Database
from agentmesh_grpc.channel import check_health

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
TEMPORAL_HEALTH_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
# Each service's health says SERVING only once its dependencies are ready
# (inference: the model is loaded).
GRPC_SERVICES = {
    "agents": "agentmesh.agents.v1.AgentService",
    "memory": "agentmesh.memory.v1.MemoryService",
    "inference": "agentmesh.inference.v1.InferenceService",
    "scheduler": "agentmesh.scheduler.v1.SchedulerService",
}


class ReadinessProbe(Protocol):
    """Answers, per dependency, whether it is ready."""

    async def check(self) -> dict[str, bool]: ...


async def nats_handshake(url: str, timeout: float = PROBE_TIMEOUT, user: str = "", password: str = "") -> bool:
    """True when a NATS server greets us (INFO) and answers CONNECT+PING with PONG.

    As the gateway's NATS user when `user` is set (else the URL's user, if any): a
    server with authorization answers wrong credentials with an error, not PONG.
    """
    for server in url.split(","):
        parsed = urlparse(server.strip() if "://" in server else f"nats://{server.strip()}")
        credentials: tuple[str, str] | None
        if user:
            credentials = (user, password)
        else:
            credentials = (unquote(parsed.username), unquote(parsed.password or "")) if parsed.username else None
        try:
            host, port = parsed.hostname or "127.0.0.1", parsed.port or 4222
            async with asyncio.timeout(timeout):
                if await _handshake(host, port, credentials):
                    return True
        except (OSError, TimeoutError, ValueError):
            continue
    return False


async def _within(seconds: float, check: Callable[[], Awaitable[bool]]) -> bool:
    async with asyncio.timeout(seconds):
        return await check()


async def _handshake(host: str, port: int, credentials: tuple[str, str] | None) -> bool:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        info = await reader.readline()
        if not info.startswith(b"INFO "):
            return False
        if json.loads(info[5:]).get("tls_required"):
            return True  # a TLS server greeted us; that is as far as a probe goes
        options = {"verbose": False, "pedantic": False, "name": "agentmesh-gateway-readyz"}
        if credentials:
            options.update(user=credentials[0], **{"pass": credentials[1]})
        writer.write(b"CONNECT " + json.dumps(options).encode() + b"\r\nPING\r\n")
        await writer.drain()
        return (await reader.readline()).startswith(b"PONG")
    finally:
        writer.close()


class DependencyProbe:
    """The real probe: database, NATS, Temporal and the four gRPC services."""

    def __init__(
        self,
        database: Database,
        channels: dict[str, grpc.aio.Channel],
        nats_url: str,
        nats_credentials: tuple[str, str] = ("", ""),
    ) -> None:
        self._database = database
        self._channels = channels
        self._nats_url = nats_url
        self._nats_credentials = nats_credentials

    async def check(self) -> dict[str, bool]:
        checks: dict[str, Callable[[], Awaitable[bool]]] = {
            "database": self._database.ping,
            "nats": lambda: nats_handshake(self._nats_url, PROBE_TIMEOUT, *self._nats_credentials),
            "temporal": self._grpc("temporal", TEMPORAL_HEALTH_SERVICE),
        }
        for name, service in GRPC_SERVICES.items():
            checks[name] = self._grpc(name, service)
        names = list(checks)
        results = await asyncio.gather(*(_within(PROBE_TIMEOUT + 1, checks[name]) for name in names),
                                       return_exceptions=True)  # fmt: skip
        answers = {name: result is True for name, result in zip(names, results, strict=True)}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("readiness probe %s failed: %s", name, type(result).__name__)
        return answers

    def _grpc(self, name: str, service: str) -> Callable[[], Awaitable[bool]]:
        return lambda: check_health(self._channels[name], service, timeout=PROBE_TIMEOUT)
