"""Channels spread calls over every address their target resolves to (round_robin),
so a headless Service's pods all get traffic; one address works as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.trust import ServiceKeys


class CountingHealth(health.aio.HealthServicer):
    """A health service that counts the checks it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    async def Check(self, request: health_pb2.HealthCheckRequest, context: Any) -> health_pb2.HealthCheckResponse:
        self.checks += 1
        return await super().Check(request, context)


@pytest.fixture
async def backends() -> AsyncIterator[list[tuple[int, CountingHealth]]]:
    """Three gRPC servers on 127.0.0.1, each answering SERVING."""
    async with AsyncExitStack() as stack:
        started = []
        for _ in range(3):
            server = grpc.aio.server()
            servicer = CountingHealth()
            health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            stack.push_async_callback(server.stop, None)
            await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
            started.append((port, servicer))
        yield started


async def test_calls_are_spread_over_every_resolved_address(backends: list[tuple[int, CountingHealth]]) -> None:
    # The ipv4: resolver hands the channel several addresses at once, as DNS does for a headless Service.
    target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port, _ in backends)
    channel = create_channel(target, ServiceKeys.local("gateway").signer)
    try:
        await channel.channel_ready()
        for _ in range(30):
            assert await check_health(channel)
    finally:
        await channel.close()
    counts = [servicer.checks for _, servicer in backends]
    assert sum(counts) == 30
    # pick_first (gRPC's default) would put all 30 on one backend.
    assert all(count >= 5 for count in counts), counts


async def test_a_single_address_and_a_dns_name_still_work(backends: list[tuple[int, CountingHealth]]) -> None:
    port, servicer = backends[0]
    for target in (f"127.0.0.1:{port}", f"dns:///127.0.0.1:{port}"):
        channel = create_channel(target, ServiceKeys.local("gateway").signer)
        try:
            assert await check_health(channel)
        finally:
            await channel.close()
    assert servicer.checks == 2
