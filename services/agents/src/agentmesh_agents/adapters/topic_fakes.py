"""TopicRepository in memory, over the in-memory agents and message log (for unit tests).

tests/adapters/test_topic_repository.py runs one suite over it and the PostgreSQL one.
"""

from __future__ import annotations

from collections.abc import Callable

from agentmesh_agents.adapters.fakes import InMemoryAgentRepository, InMemoryMessageRepository
from agentmesh_agents.domain.models import Message, ParticipantType
from agentmesh_agents.domain.topics import Publication
from agentmesh_core.errors import AlreadyExists


class InMemoryTopicRepository:
    """Publications in a dict; messages go into the in-memory message log."""

    def __init__(self, agents: InMemoryAgentRepository, messages: InMemoryMessageRepository) -> None:
        self._agents = agents
        self._messages = messages
        self.publications: dict[str, tuple[Publication, list[str]]] = {}

    def _first(self, publication: Publication) -> tuple[Publication, list[str]] | None:
        if publication.idempotency_key is None:
            return None
        return next(
            (
                stored
                for stored in self.publications.values()
                if stored[0].project_id == publication.project_id
                and stored[0].topic == publication.topic
                and stored[0].idempotency_key == publication.idempotency_key
            ),
            None,
        )

    async def publish(
        self, publication: Publication, message_for: Callable[[str], Message]
    ) -> tuple[list[Message], bool]:
        first = self._first(publication)
        if first is not None:
            return [self._messages.messages[message_id] for message_id in first[1]], False
        if publication.id in self.publications:
            raise AlreadyExists("publication already exists")
        sender = publication.sender
        subscribers = sorted(
            (
                agent
                for agent in self._agents.agents.values()
                if agent.project_id == publication.project_id
                and publication.topic in agent.topics
                and not (sender.type is ParticipantType.AGENT and sender.id == agent.id)
            ),
            key=lambda agent: (agent.created_at, agent.id),
        )
        sent = []
        for agent in subscribers:
            message, created = await self._messages.add(message_for(agent.id))
            if not created:
                raise AlreadyExists("message already exists")
            sent.append(message)
        self.publications[publication.id] = (publication, [m.id for m in sent])
        return sent, True

    async def delete_project(self, project_id: str) -> int:
        doomed = [key for key, (p, _) in self.publications.items() if p.project_id == project_id]
        for key in doomed:
            del self.publications[key]
        return len(doomed)
