"""Composition root: `python -m agentmesh_agents` runs the AgentService and the mailbox runtime.

The process runs on the shared service skeleton (agentmesh_grpc.service); what
this service builds and starts is AgentsWiring in wiring.py, imported only
once the settings are known to be valid.
"""

from __future__ import annotations

import asyncio

from agentmesh_agents.settings import AgentsSettings
from agentmesh_grpc import service


async def serve(settings: AgentsSettings, stop: asyncio.Event) -> None:
    """Serve until stop is set, then stop gracefully."""
    from agentmesh_agents.wiring import AgentsWiring

    await service.serve(AgentsWiring(settings), stop)


def run() -> None:
    """Entry point of `python -m agentmesh_agents`."""
    service.run_service("agents", AgentsSettings, serve)
