"""A service's real servicer on a free port, and a channel to it, for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc

from agentmesh_core.tokens import IdentityTokens
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.server import ServiceServer

TEST_INTERNAL_SECRET = "agentmesh-test-internal-secret-0123456789abcdef"


@asynccontextmanager
async def serving(
    service_name: str, register: Callable[[grpc.aio.Server], None], secret: str = TEST_INTERNAL_SECRET
) -> AsyncIterator[str]:
    """Serve one servicer (with the real interceptors, health, reflection) on 127.0.0.1:<free port>."""
    server = ServiceServer(IdentityTokens(secret), "127.0.0.1:0")
    server.add_service(service_name, register)
    await server.start()
    await server.set_serving()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


@asynccontextmanager
async def channel_to(address: str, secret: str = TEST_INTERNAL_SECRET) -> AsyncIterator[grpc.aio.Channel]:
    """A channel that signs the bound identity onto every call, as services do."""
    channel = create_channel(address, IdentityTokens(secret))
    try:
        yield channel
    finally:
        await channel.close()
