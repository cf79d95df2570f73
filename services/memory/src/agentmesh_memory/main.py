"""Entry points: `python -m agentmesh_memory` runs the MemoryService.

The process runs on the shared service skeleton (agentmesh_grpc.service); the
composition root, MemoryWiring, is in wiring.py.
"""

from __future__ import annotations

from agentmesh_grpc.entry import ServiceEntry
from agentmesh_memory.settings import MemorySettings

ENTRY = ServiceEntry("memory", MemorySettings, "agentmesh_memory.wiring:MemoryWiring")
serve = ENTRY.serve
run = ENTRY.run
