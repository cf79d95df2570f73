"""In-memory AgentRepository and MessageRepository for unit tests.

They follow the PostgreSQL repositories' rules (unique names per project, the
idempotency key, one reply per request, final statuses stay final); the adapter
test suite runs against both to keep them honest.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from agentmesh_agents.domain.models import Agent, Message, MessageFilter, MessageStatus, ParticipantType
from agentmesh_core.errors import AlreadyExists

_NAME_TAKEN = "an agent with this name already exists in the project"


class InMemoryAgentRepository:
    """AgentRepository in a dict."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}

    def _clash(self, agent: Agent) -> bool:
        return any(
            other.project_id == agent.project_id and other.name == agent.name and other.id != agent.id
            for other in self.agents.values()
        )

    async def add(self, agent: Agent) -> Agent:
        if self._clash(agent) or agent.id in self.agents:
            raise AlreadyExists(_NAME_TAKEN)
        self.agents[agent.id] = agent
        return agent

    async def get(self, project_id: str, agent_id: str) -> Agent | None:
        agent = self.agents.get(agent_id)
        return agent if agent and agent.project_id == project_id else None

    async def list(self, project_id: str, offset: int, limit: int) -> list[Agent]:
        mine = sorted(
            (a for a in self.agents.values() if a.project_id == project_id), key=lambda a: (a.created_at, a.id)
        )
        return mine[offset : offset + limit]

    async def update(self, agent: Agent) -> Agent | None:
        if await self.get(agent.project_id, agent.id) is None:
            return None
        if self._clash(agent):
            raise AlreadyExists(_NAME_TAKEN)
        self.agents[agent.id] = agent
        return agent

    async def delete(self, project_id: str, agent_id: str) -> bool:
        if await self.get(project_id, agent_id) is None:
            return False
        del self.agents[agent_id]
        return True

    async def delete_project(self, project_id: str) -> int:
        doomed = [a.id for a in self.agents.values() if a.project_id == project_id]
        for agent_id in doomed:
            del self.agents[agent_id]
        return len(doomed)


class InMemoryMessageRepository:
    """MessageRepository in a dict (plus when each message was last published)."""

    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self.published_at: dict[str, datetime] = {}

    def _scoped(self, project_id: str) -> list[Message]:
        return [m for m in self.messages.values() if m.project_id == project_id]

    async def add(self, message: Message) -> tuple[Message, bool]:
        if message.idempotency_key:
            for other in self._scoped(message.project_id):
                if other.idempotency_key == message.idempotency_key:
                    return other, False
        if message.id in self.messages:
            raise AlreadyExists("message already exists")
        self.messages[message.id] = message
        return message, True

    async def get(self, project_id: str, message_id: str) -> Message | None:
        message = self.messages.get(message_id)
        return message if message and message.project_id == project_id else None

    async def list(self, project_id: str, where: MessageFilter, offset: int, limit: int) -> list[Message]:
        def matches(m: Message) -> bool:
            if where.agent_id and not any(
                p.type is ParticipantType.AGENT and p.id == where.agent_id for p in (m.sender, m.receiver)
            ):
                return False
            if where.conversation_id and m.conversation_id != where.conversation_id:
                return False
            return not (where.status and m.status is not where.status)

        found = sorted(filter(matches, self._scoped(project_id)), key=lambda m: (m.created_at, m.id), reverse=True)
        return found[offset : offset + limit]

    async def conversation_exists(self, project_id: str, conversation_id: str) -> bool:
        return any(m.conversation_id == conversation_id for m in self._scoped(project_id))

    async def history(self, project_id: str, conversation_id: str, before: datetime, limit: int) -> list[Message]:
        found = sorted(
            (
                m
                for m in self._scoped(project_id)
                if m.conversation_id == conversation_id and m.status is MessageStatus.COMPLETE and m.created_at < before
            ),
            key=lambda m: (m.created_at, m.id),
        )
        return found[-limit:] if limit else []

    async def set_status(
        self, project_id: str, message_id: str, status: MessageStatus, error: str = ""
    ) -> Message | None:
        message = await self.get(project_id, message_id)
        if message is None or message.status.is_final:
            return None
        changed = dataclasses.replace(message, status=status, error=error, updated_at=datetime.now(UTC))
        self.messages[message_id] = changed
        return changed

    async def find_reply(self, project_id: str, request_id: str) -> Message | None:
        for m in self._scoped(project_id):
            if m.parent_id == request_id and m.performative == "reply":
                return m
        return None

    async def complete_with_reply(self, request: Message, reply: Message) -> Message:
        stored = await self.find_reply(request.project_id, request.id)
        if stored is None:
            self.messages[reply.id] = stored = reply
        current = self.messages[request.id]
        self.messages[request.id] = dataclasses.replace(
            current, status=MessageStatus.COMPLETE, error="", updated_at=reply.updated_at
        )
        return stored

    async def mark_published(self, project_id: str, message_id: str, at: datetime) -> None:
        if await self.get(project_id, message_id) is not None:
            self.published_at[message_id] = at

    async def earlier_unfinished(self, request: Message, changed_after: datetime) -> str | None:
        earlier = [
            m
            for m in self._scoped(request.project_id)
            if m.receiver == request.receiver
            and m.status in (MessageStatus.QUEUED, MessageStatus.PROCESSING)
            and m.created_at < request.created_at
            and m.updated_at >= changed_after
        ]
        return min(earlier, key=lambda m: m.created_at).id if earlier else None

    async def due_for_publish(
        self, unpublished_before: datetime, published_before: datetime, limit: int
    ) -> list[Message]:
        def due(m: Message) -> bool:
            published = self.published_at.get(m.id)
            if published is None:
                return m.status is MessageStatus.QUEUED and m.created_at < unpublished_before
            unfinished = m.status in (MessageStatus.QUEUED, MessageStatus.PROCESSING)
            return unfinished and published < published_before and m.updated_at < published_before

        return sorted(filter(due, self.messages.values()), key=lambda m: m.created_at)[:limit]

    async def delete_project(self, project_id: str) -> int:
        doomed = [m.id for m in self._scoped(project_id)]
        for message_id in doomed:
            del self.messages[message_id]
            self.published_at.pop(message_id, None)
        return len(doomed)
