"""Entry points: `python -m agentmesh_agents` runs the AgentService and the mailbox runtime.

The process runs on the shared service skeleton (agentmesh_grpc.service); the
composition root, AgentsWiring, is in wiring.py.
"""

from __future__ import annotations

from agentmesh_agents.settings import AgentsSettings
from agentmesh_grpc.entry import ServiceEntry

ENTRY = ServiceEntry("agents", AgentsSettings, "agentmesh_agents.wiring:AgentsWiring")
serve = ENTRY.serve
run = ENTRY.run
