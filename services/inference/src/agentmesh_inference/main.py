"""Composition root: `python -m agentmesh_inference` runs the InferenceService gRPC server.

The process runs on the shared service skeleton (agentmesh_grpc.service); what
this service builds and starts is in wiring.py, imported only once the
settings are known to be valid.
"""

from __future__ import annotations

import asyncio

from agentmesh_grpc import service
from agentmesh_inference.settings import InferenceSettings


async def serve(settings: InferenceSettings, stop: asyncio.Event) -> None:
    """Serve until stop is set, then stop the server and the engine; raises when the model cannot load."""
    from agentmesh_inference.wiring import InferenceWiring

    await service.serve(InferenceWiring(settings), stop)


def run() -> None:
    """Entry point of `python -m agentmesh_inference`."""
    service.run_service("inference", InferenceSettings, serve)
