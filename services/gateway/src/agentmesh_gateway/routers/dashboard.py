"""GET /projects/{p}/dashboard: the project's home page in one call (dashboard.py)."""

from __future__ import annotations

from fastapi import APIRouter

from agentmesh_gateway.dashboard import build_dashboard
from agentmesh_gateway.deps import Scope, State
from agentmesh_gateway.schemas.dashboard import DashboardOut

router = APIRouter(prefix="/projects/{project_id}", tags=["projects"])


@router.get("/dashboard", response_model=DashboardOut, summary="Get the project dashboard")
async def get_dashboard(scope: Scope, state: State) -> DashboardOut:
    """Agents with status and last activity, recent messages, memory stats, schedules with
    their next run, running jobs and pending approvals. The services are asked in parallel;
    one that fails or is slow marks its section `unavailable` and the rest still answer."""
    return await build_dashboard(state, scope)
