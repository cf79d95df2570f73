"""Project scope: every use case a client reaches checks the caller here, first.

The servicer only translates, so project isolation does not rest on each RPC
remembering a check (the memory and scheduler domains do the same).
"""

from __future__ import annotations

from agentmesh_core.identity import Identity, require_project_access
from agentmesh_core.ids import parse_id


def project_scope(identity: Identity, project_id: str, *, admin: bool = False) -> str:
    """The canonical project id, once the caller may act in the project (as admin when asked).

    Non-members get NotFound before anything else about the request is looked at.
    """
    require_project_access(identity, project_id, admin=admin)
    return parse_id(project_id, "project_id")
