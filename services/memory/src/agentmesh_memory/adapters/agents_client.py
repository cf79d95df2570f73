"""The agents service, as memory needs it: does an agent exist in a project.

Memory has already checked the caller's access to the project; it asks as
itself (the only identity agents accept from memory, agentmesh_grpc.trust)
whether the agent is one of that project's: an agent of another project is as
unknown as a made-up id.
"""

from __future__ import annotations

import grpc

from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_grpc.agents import AgentLookup

MEMORY_SERVICE = Identity(subject="memory", role=GlobalRole.SERVICE)


class AgentsClient(AgentLookup):
    """AgentDirectory over AgentService.GetAgent, asked as memory itself."""

    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float = 5.0) -> None:
        super().__init__(channel, timeout_seconds, acting=MEMORY_SERVICE)
