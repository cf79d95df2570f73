"""Entry points: `python -m agentmesh_scheduler` runs the SchedulerService and the Temporal worker.

The process runs on the shared service skeleton (agentmesh_grpc.service); the
composition root, SchedulerWiring, is in wiring.py.
"""

from __future__ import annotations

from agentmesh_grpc.entry import ServiceEntry
from agentmesh_scheduler.settings import SchedulerSettings

ENTRY = ServiceEntry("scheduler", SchedulerSettings, "agentmesh_scheduler.wiring:SchedulerWiring")
serve = ENTRY.serve
run = ENTRY.run
