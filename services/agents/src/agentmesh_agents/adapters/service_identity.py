"""The identity the agents service uses for its own calls to other services."""

from __future__ import annotations

from agentmesh_core.identity import GlobalRole, Identity

AGENTS_SERVICE = Identity(subject="agents", role=GlobalRole.SERVICE)
