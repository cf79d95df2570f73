"""In-memory stand-ins for the service clients (same Protocols), for gateway tests.

They check the identity the route bound, as the real services do, so a route
that forgets to bind one fails its tests.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from agentmesh_core import pagination
from agentmesh_core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from agentmesh_core.identity import GlobalRole, require_project_access
from agentmesh_core.ids import new_id
from agentmesh_gateway.schemas.agents import AgentIn, AgentOut, AgentPatch
from agentmesh_gateway.schemas.approvals import ApprovalOut, DecisionIn
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.jobs import JobIn, JobOut, RetryOut, StepOut
from agentmesh_gateway.schemas.mcp_servers import McpRefreshOut, McpServerIn, McpServerOut
from agentmesh_gateway.schemas.memory import MemoryEntryOut, MemoryIn, SearchHitOut, SearchIn
from agentmesh_gateway.schemas.messages import (
    ConversationEventOut,
    MessageFilter,
    MessageIn,
    MessageOut,
    Participant,
)
from agentmesh_gateway.schemas.schedules import ScheduleIn, ScheduleOut, SchedulePatch, ScheduleRunOut
from agentmesh_gateway.schemas.tools import GrantIn, GrantOut, ToolCallOut, ToolIn, ToolOut, ToolPatch
from agentmesh_grpc.identity import current_identity

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _check(project_id: str, admin: bool = False) -> str:
    identity = current_identity()
    if identity is None:
        raise Unauthenticated("missing caller identity")
    require_project_access(identity, project_id, admin=admin)
    return identity.subject


def _page(items: Sequence[T], limit: int, cursor: str) -> Page[T]:
    offset = pagination.decode_cursor(cursor)
    chosen = list(items[offset : offset + limit])
    return Page(items=chosen, next_cursor=pagination.next_cursor(offset, len(chosen), limit) or None)


class FakeAgents:
    """AgentsApi in memory; tests put conversation events in `events`."""

    def __init__(self) -> None:
        self.agents: dict[str, AgentOut] = {}
        self.messages: list[MessageOut] = []
        self.events: dict[str, list[ConversationEventOut]] = {}
        self.stream_requests: list[tuple[str, int]] = []
        self.open_streams = 0
        self.fail_streams_with: Exception | None = None  # raised after the stored events, instead of tailing
        self.deleted_projects: list[str] = []

    async def create_agent(self, project_id: str, agent: AgentIn) -> AgentOut:
        _check(project_id, admin=True)
        made = AgentOut(
            **agent.model_dump(by_alias=True), id=new_id(), project_id=project_id, created_at=_now(), updated_at=_now()
        )
        self.agents[made.id] = made
        return made

    async def get_agent(self, project_id: str, agent_id: str) -> AgentOut:
        _check(project_id)
        agent = self.agents.get(agent_id)
        if agent is None or agent.project_id != project_id:
            raise NotFound("agent not found")
        return agent

    async def list_agents(self, project_id: str, limit: int, cursor: str) -> Page[AgentOut]:
        _check(project_id)
        return _page([a for a in self.agents.values() if a.project_id == project_id], limit, cursor)

    async def update_agent(self, project_id: str, agent_id: str, patch: AgentPatch) -> AgentOut:
        _check(project_id, admin=True)
        agent = await self.get_agent(project_id, agent_id)
        updated = agent.model_copy(
            update={"llm_config" if k == "model_config" else k: v for k, v in patch.changed().items()}
        )
        self.agents[agent_id] = updated
        return updated

    async def delete_agent(self, project_id: str, agent_id: str) -> None:
        _check(project_id, admin=True)
        await self.get_agent(project_id, agent_id)
        del self.agents[agent_id]

    async def send_message(self, project_id: str, agent_id: str, message: MessageIn) -> MessageOut:
        subject = _check(project_id)
        await self.get_agent(project_id, agent_id)
        made = MessageOut(
            id=new_id(),
            project_id=project_id,
            conversation_id=str(message.conversation_id or new_id()),
            sender=Participant(type="user", id=subject),
            receiver=Participant(type="agent", id=agent_id),
            content=message.content,
            performative="request",
            status="queued",
            error=None,
            parent_id=None,
            correlation_id=None,
            created_at=_now(),
            updated_at=_now(),
        )
        self.messages.append(made)
        return made

    async def list_messages(self, project_id: str, where: MessageFilter, limit: int, cursor: str) -> Page[MessageOut]:
        _check(project_id)
        found = [
            m
            for m in reversed(self.messages)
            if m.project_id == project_id
            and (not where.conversation_id or m.conversation_id == where.conversation_id)
            and (not where.agent_id or where.agent_id in (m.sender.id, m.receiver.id))
            and (not where.status or m.status == where.status)
        ]
        return _page(found, limit, cursor)

    async def open_events(
        self, project_id: str, conversation_id: str, after: int
    ) -> AsyncIterator[ConversationEventOut]:
        _check(project_id)
        self.stream_requests.append((conversation_id, after))
        if not any(m.conversation_id == conversation_id and m.project_id == project_id for m in self.messages):
            raise NotFound("conversation not found")
        return self._tail(conversation_id, after)

    async def _tail(self, conversation_id: str, after: int) -> AsyncIterator[ConversationEventOut]:
        self.open_streams += 1
        try:
            for event in self.events.get(conversation_id, []):
                if event.sequence > after:
                    yield event
            if self.fail_streams_with is not None:
                raise self.fail_streams_with
            await asyncio.Event().wait()  # a live tail: nothing more until the client goes away
        finally:
            self.open_streams -= 1

    async def delete_project_data(self, project_id: str) -> None:
        _check(project_id, admin=True)
        self.deleted_projects.append(project_id)


class FakeMemory:
    """MemoryApi in memory; "search" scores by shared words."""

    def __init__(self) -> None:
        self.entries: list[MemoryEntryOut] = []
        self.deleted_projects: list[str] = []

    async def add_memories(self, project_id: str, memory: MemoryIn) -> list[MemoryEntryOut]:
        _check(project_id)
        agent_id = str(memory.agent_id) if memory.agent_id else None
        made = [
            MemoryEntryOut(id=new_id(), project_id=project_id, agent_id=agent_id, content=d["content"],
                           metadata=d["metadata"], embedding_model="fake", created_at=_now())
            for d in memory.as_documents()
        ]  # fmt: skip
        self.entries.extend(made)
        return made

    async def list_memories(self, project_id: str, agent_id: str, limit: int, cursor: str) -> Page[MemoryEntryOut]:
        _check(project_id)
        found = [e for e in self.entries if e.project_id == project_id and (not agent_id or e.agent_id == agent_id)]
        return _page(found, limit, cursor)

    async def delete_memory(self, project_id: str, memory_id: str) -> None:
        _check(project_id, admin=True)
        before = len(self.entries)
        self.entries = [e for e in self.entries if not (e.id == memory_id and e.project_id == project_id)]
        if len(self.entries) == before:
            raise NotFound("memory entry not found")

    async def search_memories(self, project_id: str, search: SearchIn) -> list[SearchHitOut]:
        _check(project_id)
        words = set(search.query.lower().split())
        hits = [
            SearchHitOut(id=e.id, content=e.content, metadata=e.metadata, agent_id=e.agent_id,
                         score=len(words & set(e.content.lower().split())) / max(len(words), 1))
            for e in self.entries
            if e.project_id == project_id
        ]  # fmt: skip
        return sorted(hits, key=lambda h: -h.score)[: search.k]

    async def delete_project_memories(self, project_id: str) -> None:
        _check(project_id, admin=True)
        self.deleted_projects.append(project_id)

    async def embed_texts(self, texts: list[str]) -> tuple[str, list[list[float]]]:
        """Three made-up dimensions per text: its length, its word count, 1."""
        if current_identity() is None:
            raise Unauthenticated("missing caller identity")
        return "fake-embedder", [[float(len(t)), float(len(t.split())), 1.0] for t in texts]


_REFERENCE = re.compile(r"\{\{\s*steps\.([A-Za-z0-9_-]+)\.output\s*\}\}")


def _check_plan(job: JobIn) -> None:
    """The scheduler's plan rules that need no agent lookup, with its messages (naming the step)."""
    ids = [step.id for step in job.steps]
    deps = {step.id: set(step.depends_on) for step in job.steps}
    for step in job.steps:
        if ids.count(step.id) > 1:
            raise InvalidInput(f"step {step.id!r}: duplicate step id")
        for dependency in step.depends_on:
            if dependency not in deps:
                raise InvalidInput(f"step {step.id!r}: depends on unknown step {dependency!r}")
        for referenced in _REFERENCE.findall(json.dumps(step.input)):
            if referenced not in deps:
                raise InvalidInput(f"step {step.id!r}: input references unknown step {referenced!r}")
    remaining = {key: set(value) for key, value in deps.items()}
    while ready := [key for key, value in remaining.items() if not value]:
        for key in ready:
            del remaining[key]
        for value in remaining.values():
            value.difference_update(ready)
    if remaining:
        raise InvalidInput(f"step {sorted(remaining)[0]!r}: dependency cycle")


class FakeScheduler:
    """SchedulerApi in memory; nothing fires on its own, a trigger adds a run to recent_runs.

    Jobs are stored `pending` and never run; cancel marks them `cancelled`.
    """

    def __init__(self) -> None:
        self.schedules: dict[str, ScheduleOut] = {}
        self.jobs: dict[str, JobOut] = {}
        self.deleted_projects: list[str] = []

    async def create_schedule(self, project_id: str, schedule: ScheduleIn) -> ScheduleOut:
        _check(project_id, admin=True)
        schedule_id = new_id()
        made = ScheduleOut(
            **schedule.model_dump(exclude={"agent_id"}),
            agent_id=str(schedule.agent_id),
            id=schedule_id,
            project_id=project_id,
            temporal_schedule_id=f"project-{project_id}-schedule-{schedule_id}",
            last_run_at=None,
            last_run_outcome=None,
            next_run_at=None,
            created_at=_now(),
        )
        self.schedules[schedule_id] = made
        return made

    async def get_schedule(self, project_id: str, schedule_id: str) -> ScheduleOut:
        _check(project_id)
        schedule = self.schedules.get(schedule_id)
        if schedule is None or schedule.project_id != project_id:
            raise NotFound("schedule not found")
        return schedule

    async def list_schedules(self, project_id: str, limit: int, cursor: str) -> Page[ScheduleOut]:
        _check(project_id)
        return _page([s for s in self.schedules.values() if s.project_id == project_id], limit, cursor)

    async def update_schedule(self, project_id: str, schedule_id: str, patch: SchedulePatch) -> ScheduleOut:
        _check(project_id, admin=True)
        schedule = await self.get_schedule(project_id, schedule_id)
        changes = {name: getattr(patch, name) for name in patch.changed()}
        if {"cron", "interval_seconds", "run_at"} & set(changes):
            changes = {"cron": None, "interval_seconds": None, "run_at": None, **changes}
        updated = schedule.model_copy(update=changes)
        self.schedules[schedule_id] = updated
        return updated

    async def trigger_schedule(self, project_id: str, schedule_id: str) -> ScheduleOut:
        _check(project_id, admin=True)
        schedule = await self.get_schedule(project_id, schedule_id)
        run = ScheduleRunOut(ran_at=_now(), outcome=f"sent message {new_id()}")
        triggered = schedule.model_copy(
            update={"recent_runs": [run, *schedule.recent_runs], "last_run_at": run.ran_at,
                    "last_run_outcome": run.outcome}
        )  # fmt: skip
        self.schedules[schedule_id] = triggered
        return triggered

    async def delete_schedule(self, project_id: str, schedule_id: str) -> None:
        _check(project_id, admin=True)
        await self.get_schedule(project_id, schedule_id)
        del self.schedules[schedule_id]

    async def delete_project_schedules(self, project_id: str) -> None:
        _check(project_id, admin=True)
        self.deleted_projects.append(project_id)

    async def create_job(self, project_id: str, job: JobIn) -> JobOut:
        _check(project_id, admin=True)
        _check_plan(job)
        key = (project_id, job.idempotency_key)
        for existing in self.jobs.values():
            if job.idempotency_key and (existing.project_id, existing.idempotency_key) == key:
                return existing
        job_id = new_id()
        steps = [
            StepOut(id=step.id, agent_id=str(step.agent_id), input=step.input, depends_on=step.depends_on,
                    retry=RetryOut(**step.retry.model_dump()), timeout_s=step.timeout_s, status="pending", attempts=0,
                    output=None, error=None, sent_input=None, message_id=None, started_at=None, ended_at=None)
            for step in job.steps
        ]  # fmt: skip
        workflow_id = f"project-{project_id}-job-{job_id}"
        made = JobOut(
            id=job_id, project_id=project_id, name=job.name, status="pending", steps=steps, workflow_id=workflow_id,
            temporal_ui_url=f"http://temporal-ui/namespaces/default/workflows/{workflow_id}", error=None,
            failed_step_id=None, idempotency_key=job.idempotency_key, created_at=_now(), updated_at=_now(),
            ended_at=None,
        )  # fmt: skip
        self.jobs[job_id] = made
        return made

    async def get_job(self, project_id: str, job_id: str) -> JobOut:
        _check(project_id)
        job = self.jobs.get(job_id)
        if job is None or job.project_id != project_id:
            raise NotFound("job not found")
        return job

    async def list_jobs(self, project_id: str, status: str | None, limit: int, cursor: str) -> Page[JobOut]:
        _check(project_id)
        mine = [j for j in reversed(self.jobs.values()) if j.project_id == project_id and status in (None, j.status)]
        return _page(mine, limit, cursor)

    async def cancel_job(self, project_id: str, job_id: str) -> JobOut:
        _check(project_id, admin=True)
        job = await self.get_job(project_id, job_id)
        if job.status in ("pending", "running"):
            job = job.model_copy(update={"status": "cancelled", "ended_at": _now()})
            self.jobs[job_id] = job
        return job


_BUILTINS = ("calculator", "current_time", "http_fetch", "memory_search", "memory_store")
_RESTRICTED = frozenset({"http_fetch"})
_OBJECT = {"type": "object"}


class FakeTools:
    """ToolsApi in memory, over FakeAgents' agents: the built-ins seeded, the agents service's rules kept
    (superadmin writes, builtins switched not redefined, restricted grants by superadmins, approvals
    decided once). Tests put audit records in `calls` and approvals in `approvals`."""

    def __init__(self, agents: FakeAgents) -> None:
        self._agents = agents
        self.tools: dict[str, ToolOut] = {
            name: ToolOut(name=name, description=f"the {name} tool", parameters=_OBJECT, kind="builtin",
                          enabled=True, restricted=name in _RESTRICTED, requires_approval=False, created_at=_now(),
                          updated_at=_now())
            for name in _BUILTINS
        }  # fmt: skip
        self.grants: dict[str, list[GrantOut]] = {}
        self.calls: dict[str, list[ToolCallOut]] = {}  # project -> calls, newest first
        self.approvals: dict[str, list[ApprovalOut]] = {}  # project -> approvals, newest first
        # MCP servers: each offers one tool, `echo`; a URL in `unreachable` answers nothing.
        self.mcp_servers: dict[str, McpServerOut] = {}
        self.mcp_headers: dict[str, dict[str, str]] = {}
        self.unreachable: set[str] = set()

    @staticmethod
    def _superadmin() -> bool:
        identity = current_identity()
        if identity is None:
            raise Unauthenticated("missing caller identity")
        return identity.role is GlobalRole.SUPERADMIN

    async def list_tools(self, limit: int, cursor: str) -> Page[ToolOut]:
        self._superadmin()
        return _page(sorted(self.tools.values(), key=lambda t: t.name), limit, cursor)

    async def create_tool(self, tool: ToolIn) -> ToolOut:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        if tool.kind == "builtin" or "." not in tool.name:
            raise InvalidInput("an mcp tool is named <server>.<tool>; builtin tools cannot be created")
        if tool.name in self.tools:
            raise AlreadyExists("a tool with this name already exists")
        made = ToolOut(**tool.model_dump(), created_at=_now(), updated_at=_now())
        self.tools[tool.name] = made
        return made

    async def update_tool(self, name: str, patch: ToolPatch) -> ToolOut:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        tool = self.tools.get(name)
        if tool is None:
            raise NotFound("tool not found")
        changes = patch.changed()
        if not changes:
            raise InvalidInput("update_mask must name at least one field")
        if tool.kind == "builtin" and {"description", "parameters"} & set(changes):
            raise FailedPrecondition("builtin tools can be disabled, restricted or made to ask, not redefined")
        self.tools[name] = tool.model_copy(update={**changes, "updated_at": _now()})
        return self.tools[name]

    async def agent_tools(self, project_id: str, agent_id: str) -> list[GrantOut]:
        _check(project_id)
        await self._agents.get_agent(project_id, agent_id)
        return list(self.grants.get(agent_id, []))

    async def set_agent_tools(self, project_id: str, agent_id: str, grants: list[GrantIn]) -> list[GrantOut]:
        _check(project_id, admin=True)
        await self._agents.get_agent(project_id, agent_id)
        if len({g.name for g in grants}) != len(grants):
            raise InvalidInput("each tool may be granted once")
        before = {g.name: g for g in self.grants.get(agent_id, [])}
        made = []
        for grant in sorted(grants, key=lambda g: g.name):
            tool = self.tools.get(grant.name)
            if tool is None:
                raise InvalidInput(f"unknown tool {grant.name!r}")
            if grant.config and tool.kind == "builtin" and grant.name != "current_time":
                raise InvalidInput(f"config of {grant.name} is invalid")
            old = before.get(grant.name)
            same = old is not None and (old.config, old.requires_approval) == (grant.config, grant.requires_approval)
            if tool.restricted and not same and not self._superadmin():
                raise PermissionDenied(f"tool {grant.name!r} is restricted: only a superadmin may grant it")
            made.append(GrantOut(name=grant.name, config=grant.config, requires_approval=grant.requires_approval,
                                 last_used=old.last_used if old else None, tool=tool))  # fmt: skip
        self.grants[agent_id] = made
        return made

    async def list_tool_calls(
        self, project_id: str, agent_id: str, message_id: str, limit: int, cursor: str
    ) -> Page[ToolCallOut]:
        _check(project_id, admin=True)
        found = [
            c
            for c in self.calls.get(project_id, [])
            if (not agent_id or c.agent_id == agent_id) and (not message_id or c.message_id == message_id)
        ]
        return _page(found, limit, cursor)

    async def list_approvals(self, project_id: str, status: str | None, limit: int, cursor: str) -> Page[ApprovalOut]:
        _check(project_id)
        found = [a for a in self.approvals.get(project_id, []) if not status or a.status == status]
        return _page(found, limit, cursor)

    async def decide_approval(self, project_id: str, approval_id: str, decision: DecisionIn) -> ApprovalOut:
        subject = _check(project_id, admin=True)
        mine = self.approvals.get(project_id, [])
        index = next((i for i, a in enumerate(mine) if a.id == approval_id), None)
        if index is None:
            raise NotFound("approval not found")
        if mine[index].status != "pending":
            raise FailedPrecondition(f"the approval is already {mine[index].status}")
        status = "approved" if decision.decision == "approve" else "denied"
        mine[index] = mine[index].model_copy(
            update={"status": status, "decided_by": subject, "comment": decision.comment or None, "decided_at": _now()}
        )
        return mine[index]

    def _mcp_tools(self, server: McpServerOut) -> list[str]:
        if server.url in self.unreachable:
            raise FailedPrecondition("the MCP server could not be reached")
        name = f"{server.name}.echo"
        self.tools.setdefault(name, ToolOut(name=name, description="Echo the text.", parameters=_OBJECT, kind="mcp",
                                            enabled=True, restricted=False, requires_approval=False,
                                            created_at=_now(), updated_at=_now()))  # fmt: skip
        return [name]

    async def create_mcp_server(self, server: McpServerIn) -> McpServerOut:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        if server.name in self.mcp_servers:
            raise AlreadyExists("an mcp server with this name already exists")
        headers = dict(server.headers or {})
        out = McpServerOut(name=server.name, url=server.url, header_names=sorted(headers), tool_count=1,
                           created_at=_now(), refreshed_at=_now())  # fmt: skip
        self._mcp_tools(out)
        self.mcp_servers[server.name], self.mcp_headers[server.name] = out, headers
        return out

    async def list_mcp_servers(self) -> list[McpServerOut]:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        return [self.mcp_servers[name] for name in sorted(self.mcp_servers)]

    async def delete_mcp_server(self, name: str) -> None:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        if self.mcp_servers.pop(name, None) is None:
            raise NotFound("mcp server not found")
        self.mcp_headers.pop(name, None)
        for tool in [t for t in self.tools if t.startswith(f"{name}.")]:
            del self.tools[tool]
        for agent, grants in self.grants.items():
            self.grants[agent] = [g for g in grants if not g.name.startswith(f"{name}.")]

    async def refresh_mcp_server(self, name: str) -> McpRefreshOut:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        server = self.mcp_servers.get(name)
        if server is None:
            raise NotFound("mcp server not found")
        tools = self._mcp_tools(server)
        server = server.model_copy(update={"refreshed_at": _now(), "tool_count": len(tools)})
        self.mcp_servers[name] = server
        return McpRefreshOut(server=server, tools=tools)
