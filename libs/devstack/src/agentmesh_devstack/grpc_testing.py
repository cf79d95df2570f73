"""A service's real servicer on a free port, and a channel to it, for tests.

Both sides use the services' well-known local identity keys (what a service
started with nothing configured uses): the server trusts its callers as that
service does (agentmesh_grpc.trust), the channel signs as the gateway unless told
which service it calls as.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentmesh_core.tokens import IdentitySigner
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.generations_server import GENERATE_METHOD, MultiplexedCall
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys, audience_of


@asynccontextmanager
async def serving(service_name: str, register: Callable[[grpc.aio.Server], None]) -> AsyncIterator[str]:
    """Serve one servicer (with the real interceptors, health, reflection) on 127.0.0.1:<free port>.

    `service_name` is the gRPC service's full name; the server trusts callers as the
    agentmesh service owning it does (`agentmesh.memory.v1.MemoryService`: memory).
    """
    server = ServiceServer(ServiceKeys.local(audience_of(f"/{service_name}/")).trust, "127.0.0.1:0")
    server.add_service(service_name, register)
    await server.start()
    await server.set_serving()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


@asynccontextmanager
async def channel_to(address: str, calling_as: str = "gateway") -> AsyncIterator[grpc.aio.Channel]:
    """A channel that signs the bound identity onto every call as service `calling_as` does."""
    channel = create_channel(address, ServiceKeys.local(calling_as).signer)
    try:
        yield channel
    finally:
        await channel.close()


def stranger_signer(calling_as: str = "gateway") -> IdentitySigner:
    """A signer that claims to be service `calling_as` with a key no service trusts (a forger)."""
    return IdentitySigner(calling_as, Ed25519PrivateKey.generate())


class MultiplexedByGenerate:
    """For an InferenceService double that implements Generate only: GenerateMultiplexed runs
    each generation through the double's Generate, its identity admitted as the inference
    service admits it (what the gateway's and the agents' clients call)."""

    async def GenerateMultiplexed(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        trust = ServiceKeys.local("inference").trust

        def generate(request: Any, _identity: Any) -> AsyncIterator[Any]:
            return self.Generate(request, context)  # type: ignore[attr-defined] # the double's

        call = MultiplexedCall(generate, lambda token: trust.admit(token, GENERATE_METHOD), flush_seconds=0)
        async for response in call.serve(request_iterator):
            yield response
