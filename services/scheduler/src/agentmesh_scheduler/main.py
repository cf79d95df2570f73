"""Composition root: `python -m agentmesh_scheduler` runs the gRPC server and the Temporal worker.

The process runs on the shared service skeleton (agentmesh_grpc.service); what
this service builds and starts is in wiring.py, imported only once the
settings are known to be valid.
"""

from __future__ import annotations

import asyncio

from agentmesh_grpc import service
from agentmesh_scheduler.settings import SchedulerSettings


async def serve(settings: SchedulerSettings, stop: asyncio.Event) -> None:
    """Serve and run the worker until stop is set; raises when the worker fails."""
    from agentmesh_scheduler.wiring import SchedulerWiring

    await service.serve(SchedulerWiring(settings), stop)


def run() -> None:
    """Entry point of `python -m agentmesh_scheduler`."""
    service.run_service("scheduler", SchedulerSettings, serve)
