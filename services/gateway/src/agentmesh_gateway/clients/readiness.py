"""Readiness probes of every dependency, run concurrently with short timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

import grpc

from agentmesh_grpc.channel import check_health

TEMPORAL_HEALTH_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
GRPC_SERVICES = {
    "agents": "agentmesh.agents.v1.AgentService",
    "memory": "agentmesh.memory.v1.MemoryService",
    "inference": "agentmesh.inference.v1.InferenceService",
    "scheduler": "agentmesh.scheduler.v1.SchedulerService",
}


async def nats_answers(url: str, timeout: float = 1.5) -> bool:
    """True when the NATS server sends its INFO greeting."""
    parsed = urlparse(url)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parsed.hostname or "127.0.0.1", parsed.port or 4222), timeout
        )
    except (OSError, TimeoutError):
        return False
    try:
        greeting = await asyncio.wait_for(reader.readline(), timeout)
        return greeting.startswith(b"INFO ")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()


async def run_checks(checks: dict[str, Callable[[], Awaitable[bool]]]) -> dict[str, bool]:
    names = list(checks)
    results = await asyncio.gather(*(checks[name]() for name in names), return_exceptions=True)
    return {name: result is True for name, result in zip(names, results, strict=True)}


def grpc_check(channel: grpc.aio.Channel, service: str) -> Callable[[], Awaitable[bool]]:
    return lambda: check_health(channel, service, timeout=2.0)
