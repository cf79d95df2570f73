"""Composition root: `python -m agentmesh_memory` runs the MemoryService gRPC server.

The process runs on the shared service skeleton (agentmesh_grpc.service); what
this service builds and starts is in wiring.py, imported only once the
settings are known to be valid (it pulls in Qdrant and the embedding stack).
"""

from __future__ import annotations

import asyncio

from agentmesh_grpc import service
from agentmesh_memory.settings import MemorySettings


async def serve(settings: MemorySettings, stop: asyncio.Event) -> None:
    """Serve until stop is set, then stop gracefully."""
    from agentmesh_memory.wiring import MemoryWiring

    await service.serve(MemoryWiring(settings), stop)


def run() -> None:
    """Entry point of `python -m agentmesh_memory`."""
    service.run_service("memory", MemorySettings, serve)
