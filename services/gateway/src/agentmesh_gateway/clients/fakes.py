"""In-memory stand-ins for the service clients, for gateway tests.

They keep the same method shapes as the real wrappers and check the identity
the route bound, so a route that forgets `scope.acting()` fails its tests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from agentmesh_core.errors import NotFound, Unauthenticated
from agentmesh_core.identity import require_project_access
from agentmesh_grpc.identity import current_identity


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _check(project_id: str, admin: bool = False) -> None:
    identity = current_identity()
    if identity is None:
        raise Unauthenticated("missing caller identity")
    require_project_access(identity, project_id, admin=admin)


class FakeAgentsClient:
    def __init__(self) -> None:
        self.agents: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.deleted_projects: list[str] = []

    async def create_agent(self, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
        _check(project_id, admin=True)
        agent = {**data, "id": str(uuid.uuid4()), "project_id": project_id, "created_at": _now(), "updated_at": _now()}
        self.agents[agent["id"]] = agent
        return agent

    async def get_agent(self, project_id: str, agent_id: str) -> dict[str, Any]:
        _check(project_id)
        agent = self.agents.get(agent_id)
        if agent is None or agent["project_id"] != project_id:
            raise NotFound("agent not found")
        return agent

    async def list_agents(self, project_id: str, limit: int, cursor: str) -> tuple[list[dict], str]:
        _check(project_id)
        return [a for a in self.agents.values() if a["project_id"] == project_id][:limit], ""

    async def update_agent(self, project_id: str, agent_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        _check(project_id, admin=True)
        agent = await self.get_agent(project_id, agent_id)
        agent.update(changes)
        return agent

    async def delete_agent(self, project_id: str, agent_id: str) -> None:
        _check(project_id, admin=True)
        await self.get_agent(project_id, agent_id)
        del self.agents[agent_id]

    async def send_message(
        self, project_id: str, agent_id: str, content: Any, conversation_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        _check(project_id)
        await self.get_agent(project_id, agent_id)
        identity = current_identity()
        message = {
            "id": str(uuid.uuid4()),
            "project_id": project_id,
            "conversation_id": conversation_id or str(uuid.uuid4()),
            "sender": {"type": "user", "id": identity.subject if identity else ""},
            "receiver": {"type": "agent", "id": agent_id},
            "content": content,
            "performative": "request",
            "status": "queued",
            "error": None,
            "parent_id": None,
            "correlation_id": None,
            "idempotency_key": idempotency_key or None,
            "created_at": _now(),
            "updated_at": _now(),
        }
        self.messages.append(message)
        return message

    async def list_messages(
        self, project_id: str, filters: dict[str, str], limit: int, cursor: str
    ) -> tuple[list[dict], str]:
        _check(project_id)
        found = [
            m
            for m in self.messages
            if m["project_id"] == project_id
            and (not filters.get("conversation_id") or m["conversation_id"] == filters["conversation_id"])
        ]
        return found[:limit], ""

    async def stream_events(self, project_id: str, conversation_id: str, after: int) -> AsyncIterator[dict[str, Any]]:
        _check(project_id)
        for event in self.events.get(conversation_id, []):
            if event["sequence"] > after:
                yield event
        await asyncio.Event().wait()  # live tail: nothing more until the client goes away

    async def delete_project_data(self, project_id: str) -> None:
        _check(project_id, admin=True)
        self.deleted_projects.append(project_id)


class FakeMemoryClient:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.deleted_projects: list[str] = []

    async def add(self, project_id: str, agent_id: str, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _check(project_id)
        made = [
            {"id": str(uuid.uuid4()), "project_id": project_id, "agent_id": agent_id or None, "content": d["content"],
             "metadata": d.get("metadata") or {}, "embedding_model": "fake", "created_at": _now()}
            for d in documents
        ]  # fmt: skip
        self.entries.extend(made)
        return made

    async def list(self, project_id: str, agent_id: str, limit: int, cursor: str) -> tuple[list[dict], str]:
        _check(project_id)
        return [e for e in self.entries if e["project_id"] == project_id][:limit], ""

    async def delete(self, project_id: str, memory_id: str) -> None:
        _check(project_id, admin=True)
        before = len(self.entries)
        self.entries = [e for e in self.entries if not (e["id"] == memory_id and e["project_id"] == project_id)]
        if len(self.entries) == before:
            raise NotFound("memory entry not found")

    async def search(self, project_id: str, query: str, k: int, agent_id: str, filters: dict | None) -> list[dict]:
        _check(project_id)
        words = set(query.lower().split())
        scored = [
            {**e, "score": len(words & set(e["content"].lower().split())) / max(len(words), 1)}
            for e in self.entries
            if e["project_id"] == project_id
        ]
        return sorted(scored, key=lambda e: -e["score"])[:k]

    async def delete_project(self, project_id: str) -> None:
        _check(project_id, admin=True)
        self.deleted_projects.append(project_id)


class FakeSchedulerClient:
    def __init__(self) -> None:
        self.schedules: dict[str, dict[str, Any]] = {}
        self.deleted_projects: list[str] = []

    async def create(self, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
        _check(project_id, admin=True)
        schedule_id = str(uuid.uuid4())
        run_at = data.get("run_at")
        schedule = {
            **data,
            "run_at": run_at.isoformat() if run_at else None,
            "id": schedule_id,
            "project_id": project_id,
            "temporal_schedule_id": f"project-{project_id}-schedule-{schedule_id}",
            "last_run_at": None,
            "last_run_outcome": None,
            "next_run_at": None,
            "created_at": _now(),
        }
        self.schedules[schedule_id] = schedule
        return schedule

    async def get(self, project_id: str, schedule_id: str) -> dict[str, Any]:
        _check(project_id)
        schedule = self.schedules.get(schedule_id)
        if schedule is None or schedule["project_id"] != project_id:
            raise NotFound("schedule not found")
        return schedule

    async def list(self, project_id: str, limit: int, cursor: str) -> tuple[list[dict], str]:
        _check(project_id)
        return [s for s in self.schedules.values() if s["project_id"] == project_id][:limit], ""

    async def delete(self, project_id: str, schedule_id: str) -> None:
        _check(project_id, admin=True)
        await self.get(project_id, schedule_id)
        del self.schedules[schedule_id]

    async def delete_project(self, project_id: str) -> None:
        _check(project_id, admin=True)
        self.deleted_projects.append(project_id)
