"""The dashboard aggregate: every service asked at once, each answer bounded by one deadline.

A service that fails or misses the deadline marks its own section `unavailable`;
the page still answers. The caller's identity is bound once, and the tasks the
gather starts inherit it (contextvars), so each service checks the caller again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

from agentmesh_core.errors import AgentmeshError
from agentmesh_gateway.deps import ProjectScope
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.dashboard import (
    DashboardAgent,
    DashboardJob,
    DashboardOut,
    DashboardSchedule,
    MemoryStats,
    Section,
)
from agentmesh_gateway.schemas.messages import MessageFilter, MessageOut
from agentmesh_gateway.state import GatewayState

log = logging.getLogger(__name__)

T = TypeVar("T")
AGENTS_SHOWN = 100
MESSAGES_SHOWN = 20
MEMORY_COUNTED = 100
SCHEDULES_SHOWN = 50
JOBS_SHOWN = 20
APPROVALS_SHOWN = 20


class _Unavailable:
    def __init__(self, reason: str) -> None:
        self.reason = reason


async def _bounded(name: str, call: Awaitable[T], deadline: float) -> T | _Unavailable:
    try:
        async with asyncio.timeout(deadline):
            return await call
    except TimeoutError:
        log.warning("dashboard section %s: no answer within %.1f s", name, deadline)
        return _Unavailable("deadline_exceeded")
    except AgentmeshError as error:
        log.warning("dashboard section %s: %s", name, error.code)
        return _Unavailable(error.code)
    except Exception as error:  # noqa: BLE001 - one broken section must not take the page down
        log.warning("dashboard section %s failed: %s", name, type(error).__name__)
        return _Unavailable("internal")


def _section(result: Page[Any] | _Unavailable, convert: Any = None) -> Section[Any]:
    if isinstance(result, _Unavailable):
        return Section(status="unavailable", error=result.reason)
    items = [convert(item) for item in result.items] if convert else list(result.items)
    return Section(status="ok", items=items, more=bool(result.next_cursor))


def _last_activity(messages: Page[MessageOut] | _Unavailable) -> dict[str, datetime]:
    latest: dict[str, datetime] = {}
    if isinstance(messages, _Unavailable):
        return latest
    for message in messages.items:
        for participant in (message.sender, message.receiver):
            if participant.type == "agent" and message.created_at:
                seen = latest.get(participant.id)
                latest[participant.id] = max(seen, message.created_at) if seen else message.created_at
    return latest


async def build_dashboard(state: GatewayState, scope: ProjectScope) -> DashboardOut:
    """Ask the agents, memory and scheduler services (and the approvals) in parallel."""
    project_id = scope.project.id
    deadline = state.settings.dashboard_deadline_seconds
    with scope.acting():
        agents, messages, memory, schedules, jobs, approvals = await asyncio.gather(
            _bounded("agents", state.agents.list_agents(project_id, AGENTS_SHOWN, ""), deadline),
            _bounded("recent_messages", state.agents.list_messages(project_id, MessageFilter(), MESSAGES_SHOWN, ""),
                     deadline),
            _bounded("memory", state.memory.list_memories(project_id, "", MEMORY_COUNTED, ""), deadline),
            _bounded("schedules", state.scheduler.list_schedules(project_id, SCHEDULES_SHOWN, ""), deadline),
            _bounded("running_jobs", state.scheduler.list_jobs(project_id, "running", JOBS_SHOWN, ""), deadline),
            _bounded("pending_approvals", state.tools.list_approvals(project_id, "pending", APPROVALS_SHOWN, ""),
                     deadline),
        )  # fmt: skip
    activity = _last_activity(messages)
    return DashboardOut(
        project_id=project_id,
        project_name=scope.project.name,
        generated_at=datetime.now(UTC),
        agents=_section(
            agents,
            lambda a: DashboardAgent(
                id=a.id,
                name=a.name,
                agent_type=a.agent_type,
                status=a.status,
                last_activity_at=activity.get(a.id, a.updated_at),
            ),
        ),
        recent_messages=_section(messages),
        memory=_memory(memory),
        schedules=_section(schedules, lambda s: DashboardSchedule.model_validate(s, from_attributes=True)),
        running_jobs=_section(jobs, _job),
        pending_approvals=_section(approvals),
    )


def _memory(result: Page[Any] | _Unavailable) -> MemoryStats:
    if isinstance(result, _Unavailable):
        return MemoryStats(status="unavailable", error=result.reason)
    dates = [entry.created_at for entry in result.items if entry.created_at]
    return MemoryStats(
        status="ok", entries=len(result.items), more=bool(result.next_cursor), latest_at=max(dates, default=None)
    )


def _job(job: Any) -> DashboardJob:
    done = sum(1 for step in job.steps if step.status == "completed")
    return DashboardJob(id=job.id, name=job.name, status=job.status, steps=len(job.steps), steps_completed=done,
                        workflow_id=job.workflow_id, created_at=job.created_at)  # fmt: skip
