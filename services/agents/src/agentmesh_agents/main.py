"""Entry points: `python -m agentmesh_agents` runs the AgentService and the mailbox runtime.

The process runs on the shared service skeleton (agentmesh_grpc.service); the
composition root, AgentsWiring, is in wiring.py.
"""

from __future__ import annotations

from agentmesh_agents.settings import AgentsSettings
from agentmesh_grpc.entry import ServiceEntry

# Every transaction runs on one of the database's threads (agentmesh_db.database), and each of its
# round trips to PostgreSQL ends with the thread waiting for the GIL, which the event loop hands
# over only every switch interval while it relays other turns' tokens. Measured with bench_react
# (16 busy agents, same run): pick-up 9.9 and 9.9 ms at 0.5 ms, 13.8 and 11.9 ms at CPython's 5 ms;
# one agent's 5.6-6.1 ms either way.
ENTRY = ServiceEntry("agents", AgentsSettings, "agentmesh_agents.wiring:AgentsWiring", switch_interval_seconds=0.0005)
serve = ENTRY.serve
run = ENTRY.run
