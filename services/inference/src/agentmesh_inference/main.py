"""Entry points: `python -m agentmesh_inference` runs the InferenceService.

The process runs on the shared service skeleton (agentmesh_grpc.service); the
composition root, InferenceWiring, is in wiring.py.
"""

from __future__ import annotations

from agentmesh_grpc.entry import ServiceEntry
from agentmesh_inference.settings import InferenceSettings

ENTRY = ServiceEntry("inference", InferenceSettings, "agentmesh_inference.wiring:InferenceWiring")
serve = ENTRY.serve
run = ENTRY.run
