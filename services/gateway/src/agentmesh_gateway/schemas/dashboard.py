"""GET /projects/{p}/dashboard: one aggregate for the UI, a section per service."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from agentmesh_gateway.schemas.approvals import ApprovalOut
from agentmesh_gateway.schemas.jobs import JobStatus
from agentmesh_gateway.schemas.messages import MessageOut

T = TypeVar("T")
SectionStatus = Literal["ok", "unavailable"]


class Section(BaseModel, Generic[T]):
    """A section's items, or `unavailable` (with the reason) when its service did not answer in time."""

    status: SectionStatus
    items: list[T] = Field(default_factory=list)
    more: bool = Field(default=False, description="more exist than shown (see the resource's own list)")
    error: str | None = Field(default=None, description="why the section is unavailable")


class DashboardAgent(BaseModel):
    id: str
    name: str
    agent_type: str
    status: str
    last_activity_at: datetime | None = Field(description="its newest recent message, else its last change")


class MemoryStats(BaseModel):
    status: SectionStatus
    entries: int = Field(default=0, description="entries counted (up to the page size)")
    more: bool = Field(default=False, description="the project has more entries than counted")
    latest_at: datetime | None = None
    error: str | None = None


class DashboardSchedule(BaseModel):
    id: str
    agent_id: str | None = Field(description="the agent a message schedule sends to; null for a job schedule")
    enabled: bool
    cron: str | None
    interval_seconds: int | None
    run_at: datetime | None
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_run_outcome: str | None


class DashboardJob(BaseModel):
    id: str
    name: str
    status: JobStatus
    steps: int
    steps_completed: int
    workflow_id: str
    created_at: datetime | None


class DashboardOut(BaseModel):
    """Everything the project's home page shows, in one round trip."""

    project_id: str
    project_name: str
    generated_at: datetime
    agents: Section[DashboardAgent]
    recent_messages: Section[MessageOut]
    memory: MemoryStats
    schedules: Section[DashboardSchedule]
    running_jobs: Section[DashboardJob]
    pending_approvals: Section[ApprovalOut]
