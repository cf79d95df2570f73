"""In-memory stand-ins for the service clients (same Protocols), for gateway tests.

They check the identity the route bound, as the real services do, so a route
that forgets to bind one fails its tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from agentmesh_core.errors import (
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from agentmesh_core.identity import ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_gateway.clients.fake_scheduler import FakeScheduler
from agentmesh_gateway.clients.fake_support import check, now, page
from agentmesh_gateway.clients.fake_tools import FakeTools
from agentmesh_gateway.schemas.agents import AgentIn, AgentOut, AgentPatch
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.memory import MemoryEntryOut, MemoryIn, SearchHitOut, SearchIn
from agentmesh_gateway.schemas.messages import (
    ConversationEventOut,
    MessageFilter,
    MessageIn,
    MessageOut,
    Participant,
)
from agentmesh_gateway.schemas.topics import TopicMessageIn
from agentmesh_grpc.identity import current_identity

__all__ = ["FakeAgents", "FakeMemory", "FakeScheduler", "FakeTools"]


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
        self.publications: dict[tuple[str, str, str], list[MessageOut]] = {}

    async def create_agent(self, project_id: str, agent: AgentIn) -> AgentOut:
        check(project_id, admin=True)
        made = AgentOut(
            **agent.model_dump(by_alias=True), id=new_id(), project_id=project_id, created_at=now(), updated_at=now()
        )
        self.agents[made.id] = made
        return made

    async def get_agent(self, project_id: str, agent_id: str) -> AgentOut:
        check(project_id)
        agent = self.agents.get(agent_id)
        if agent is None or agent.project_id != project_id:
            raise NotFound("agent not found")
        return agent

    async def list_agents(self, project_id: str, limit: int, cursor: str) -> Page[AgentOut]:
        check(project_id)
        return page([a for a in self.agents.values() if a.project_id == project_id], limit, cursor)

    async def update_agent(self, project_id: str, agent_id: str, patch: AgentPatch) -> AgentOut:
        check(project_id, admin=True)
        agent = await self.get_agent(project_id, agent_id)
        updated = agent.model_copy(
            update={"llm_config" if k == "model_config" else k: v for k, v in patch.changed().items()}
        )
        self.agents[agent_id] = updated
        return updated

    async def delete_agent(self, project_id: str, agent_id: str) -> None:
        check(project_id, admin=True)
        await self.get_agent(project_id, agent_id)
        del self.agents[agent_id]

    async def send_message(self, project_id: str, agent_id: str, message: MessageIn) -> MessageOut:
        subject = check(project_id)
        await self.get_agent(project_id, agent_id)
        return self._message(project_id, subject, agent_id, message.content, str(message.conversation_id or new_id()))

    async def publish_to_topic(self, project_id: str, topic: str, message: TopicMessageIn) -> list[MessageOut]:
        subject = check(project_id)
        key = (project_id, topic, message.idempotency_key or new_id())
        if key not in self.publications:
            subscribers = [a for a in self.agents.values() if a.project_id == project_id and topic in a.topics]
            self.publications[key] = [
                self._message(project_id, subject, a.id, message.content, new_id()) for a in subscribers
            ]
        return self.publications[key]

    def _message(self, project_id: str, subject: str, agent_id: str, content: object, conversation: str) -> MessageOut:
        made = MessageOut(
            id=new_id(),
            project_id=project_id,
            conversation_id=conversation,
            sender=Participant(type="user", id=subject),
            receiver=Participant(type="agent", id=agent_id),
            content=content,
            performative="request",
            status="queued",
            error=None,
            parent_id=None,
            correlation_id=None,
            created_at=now(),
            updated_at=now(),
        )
        self.messages.append(made)
        return made

    async def cancel_message(self, project_id: str, message_id: str) -> MessageOut:
        """The service's rules: the sender or an admin, 404 for unknown ids, 409 once final."""
        subject = check(project_id)
        identity = current_identity()
        assert identity is not None
        for index, message in enumerate(self.messages):
            if message.id != message_id or message.project_id != project_id:
                continue
            admin = identity.is_privileged or identity.project_role is ProjectRole.ADMIN
            if message.sender.id != subject and not admin:
                raise PermissionDenied("only the sender or a project admin may cancel a message")
            if message.status in ("complete", "error", "cancelled"):
                raise FailedPrecondition(f"the message is already {message.status}")
            self.messages[index] = message.model_copy(update={"status": "cancelled"})
            return self.messages[index]
        raise NotFound("message not found")

    async def list_messages(self, project_id: str, where: MessageFilter, limit: int, cursor: str) -> Page[MessageOut]:
        check(project_id)
        found = [
            m
            for m in reversed(self.messages)
            if m.project_id == project_id
            and (not where.conversation_id or m.conversation_id == where.conversation_id)
            and (not where.agent_id or where.agent_id in (m.sender.id, m.receiver.id))
            and (not where.status or m.status == where.status)
        ]
        return page(found, limit, cursor)

    async def open_events(
        self, project_id: str, conversation_id: str, after: int
    ) -> AsyncIterator[ConversationEventOut]:
        check(project_id)
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
        check(project_id, admin=True)
        self.deleted_projects.append(project_id)


class FakeMemory:
    """MemoryApi in memory; "search" scores by shared words."""

    def __init__(self) -> None:
        self.entries: list[MemoryEntryOut] = []
        self.deleted_projects: list[str] = []
        self._adds_by_key: dict[tuple[str, str], list[MemoryEntryOut]] = {}

    async def add_memories(self, project_id: str, memory: MemoryIn) -> list[MemoryEntryOut]:
        check(project_id)
        key = (project_id, memory.idempotency_key or "")
        if memory.idempotency_key and key in self._adds_by_key:
            return self._adds_by_key[key]
        agent_id = str(memory.agent_id) if memory.agent_id else None
        made = [
            MemoryEntryOut(id=new_id(), project_id=project_id, agent_id=agent_id, content=d["content"],
                           metadata=d["metadata"], embedding_model="fake", created_at=now())
            for d in memory.as_documents()
        ]  # fmt: skip
        self.entries.extend(made)
        if memory.idempotency_key:
            self._adds_by_key[key] = made
        return made

    async def list_memories(self, project_id: str, agent_id: str, limit: int, cursor: str) -> Page[MemoryEntryOut]:
        check(project_id)
        found = [e for e in self.entries if e.project_id == project_id and (not agent_id or e.agent_id == agent_id)]
        return page(found, limit, cursor)

    async def delete_memory(self, project_id: str, memory_id: str) -> None:
        check(project_id, admin=True)
        before = len(self.entries)
        self.entries = [e for e in self.entries if not (e.id == memory_id and e.project_id == project_id)]
        if len(self.entries) == before:
            raise NotFound("memory entry not found")

    async def search_memories(self, project_id: str, search: SearchIn) -> list[SearchHitOut]:
        check(project_id)
        words = set(search.query.lower().split())
        hits = [
            SearchHitOut(id=e.id, content=e.content, metadata=e.metadata, agent_id=e.agent_id,
                         score=len(words & set(e.content.lower().split())) / max(len(words), 1))
            for e in self.entries
            if e.project_id == project_id
        ]  # fmt: skip
        return sorted(hits, key=lambda h: -h.score)[: search.k]

    async def delete_project_memories(self, project_id: str) -> None:
        check(project_id, admin=True)
        self.deleted_projects.append(project_id)

    async def embed_texts(self, texts: list[str]) -> tuple[str, list[list[float]]]:
        """Three made-up dimensions per text: its length, its word count, 1."""
        if current_identity() is None:
            raise Unauthenticated("missing caller identity")
        return "fake-embedder", [[float(len(t)), float(len(t.split())), 1.0] for t in texts]
