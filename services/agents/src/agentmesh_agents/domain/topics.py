"""Topics: one publish puts one message in the mailbox of every agent subscribed to the topic.

An agent's `topics` are its subscriptions; the subscriber lookup is a query
over an index, so subscribing costs no consumer, task or row per agent. A
publication and its messages (one per subscriber, `queued`) are stored in one
transaction, then posted like any message: a post that fails leaves its
message queued for the recovery sweep. A publish repeated with the same
idempotency key finds the first publication's messages and delivers nothing
twice. Each message starts a conversation of its own (the subscribers' turns
share no history), and carries a correlation id tying the fan-out together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agentmesh_agents.domain import validation
from agentmesh_agents.domain.admission import MessageAdmission
from agentmesh_agents.domain.delegation import is_delegation
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.messaging import sender_of
from agentmesh_agents.domain.models import JsonValue, Message, Participant, ParticipantType, utcnow
from agentmesh_agents.domain.ports import Mailbox, MessageRepository
from agentmesh_core.errors import FailedPrecondition, NotFound
from agentmesh_core.identity import Identity, project_in_scope
from agentmesh_core.ids import new_id

log = logging.getLogger(__name__)

# Mailbox posts of one fan-out in flight at once.
POST_CONCURRENCY = 32


@dataclass(frozen=True, slots=True)
class Publication:
    """One publish to a topic; the messages it fanned out to are stored with it."""

    id: str
    project_id: str
    topic: str
    sender: Participant
    idempotency_key: str | None
    created_at: datetime


class TopicRepository(Protocol):
    """Publications and the subscriber lookup, always scoped by project."""

    async def publish(
        self, publication: Publication, message_for: Callable[[str], Message]
    ) -> tuple[list[Message], bool]:
        """In one transaction store the publication and `message_for(agent_id)` for every agent of its
        project subscribed to its topic (the sending agent left out), and return them with True.

        When the project has a publication of the topic with the same idempotency key,
        nothing is written: its messages are returned, with False.
        """
        ...

    async def delete_project(self, project_id: str) -> int:
        """Remove every publication of a project (its messages go with the message log); returns how many."""
        ...


class Backpressure(Protocol):
    """Refuses new turns while too many wait for an answer (the backlog SendMessage also asks)."""

    async def admit(self, project_id: str) -> None:
        """ResourceExhausted (with a retry time) when the project or the platform is over its limit."""
        ...


class Topics:
    """Publishing to topics, from a project member (REST) or from an agent's tool call."""

    def __init__(
        self,
        topics: TopicRepository,
        messages: MessageRepository,
        mailbox: Mailbox,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
        admission: MessageAdmission | None = None,
        backlog: Backpressure | None = None,
        events: EventPublisher | None = None,
    ) -> None:
        self._topics = topics
        self._messages = messages
        self._mailbox = mailbox
        self._limits = limits
        self._clock = clock
        self._admission = admission or MessageAdmission(None)
        self._backlog = backlog
        self._events = events

    @property
    def limits(self) -> Limits:
        """The bounds publishes are held to (the tool's schema states the topic's)."""
        return self._limits

    async def publish(
        self, identity: Identity, project_id: str, topic: str, content: JsonValue, idempotency_key: str = ""
    ) -> list[Message]:
        """Deliver the content to each subscriber of the topic, as the caller; the messages (maybe none).

        Validated before anything is stored; a project over its message rate is refused
        (ResourceExhausted) like a direct message.
        """
        project_id = project_in_scope(identity, project_id)
        publication = self._publication(project_id, topic, sender_of(identity), idempotency_key)
        content = validation.message_content(content, self._limits)
        # The publication's id ties its messages together in the log.
        return await self._fan_out(publication, content, correlation_id=publication.id)

    async def publish_from_agent(
        self, project_id: str, agent_id: str, request_id: str, topic: str, content: JsonValue, key: str
    ) -> list[Message]:
        """Deliver the content to each subscriber (but the agent itself), as the agent working on a request.

        The project is the agent's (from the call context, never from the model). The
        messages' parent is the request and their correlation id the request's tree
        (its correlation id, else its id). `key` makes a repeated call deliver nothing twice.
        """
        request = await self._messages.get(project_id, request_id)
        if request is None:
            raise NotFound("the request being answered is gone")
        # Agents publishing to each other's topics must not chase each other forever.
        if await self._depth(request) > self._limits.delegation_max_depth:
            raise FailedPrecondition(
                f"refused: delegation depth limit reached ({self._limits.delegation_max_depth} agents deep); "
                "answer with what you have"
            )
        publication = self._publication(project_id, topic, Participant(ParticipantType.AGENT, agent_id), key)
        content = validation.message_content(content, self._limits)
        correlation_id = request.correlation_id or request.id
        return await self._fan_out(publication, content, correlation_id=correlation_id, parent=request)

    async def delete_project_data(self, identity: Identity, project_id: str) -> int:
        """Forget a project's publications (DeleteProjectData removes its agents and messages)."""
        project_id = project_in_scope(identity, project_id, admin=True)
        return await self._topics.delete_project(project_id)

    async def _depth(self, request: Message) -> int:
        """The depth of a message sent while working on `request` (the user's request is depth 0)."""
        depth, current = 1, request
        for _ in range(self._limits.delegation_max_depth + 1):  # bounded like a delegation chain
            if not is_delegation(current) or current.parent_id is None:
                break
            parent = await self._messages.get(current.project_id, current.parent_id)
            if parent is None:
                break
            depth, current = depth + 1, parent
        return depth

    def _publication(self, project_id: str, topic: str, sender: Participant, key: str) -> Publication:
        limits = self._limits
        return Publication(
            id=new_id(),
            project_id=project_id,
            topic=validation.topic(topic, limits),
            sender=sender,
            idempotency_key=validation.optional_key(key, "idempotency_key", limits.idempotency_key_max_length),
            created_at=self._clock(),
        )

    async def _fan_out(
        self, publication: Publication, content: JsonValue, correlation_id: str, parent: Message | None = None
    ) -> list[Message]:
        """Store, then post; an agent's publish also shows on its request's stream (a `delegated` event each)."""
        parent_id = parent.id if parent is not None else None

        def message_for(agent_id: str) -> Message:
            return Message(
                id=new_id(),
                project_id=publication.project_id,
                conversation_id=new_id(),
                sender=publication.sender,
                receiver=Participant(ParticipantType.AGENT, agent_id),
                content=content,
                parent_id=parent_id,
                correlation_id=correlation_id,
                created_at=publication.created_at,
                updated_at=publication.created_at,
            )

        self._admission.sending(publication.project_id)
        if self._backlog is not None:
            # Checked once per publish, as for one direct message, before anything is stored.
            await self._backlog.admit(publication.project_id)
        messages, created = await self._topics.publish(publication, message_for)
        if not created:
            log.info("publication to %r repeated with the same idempotency key", publication.topic)
            return messages
        await self._post_all(messages, parent)
        log.info("published to %r: %d subscribers", publication.topic, len(messages))
        return messages

    async def _post_all(self, messages: list[Message], parent: Message | None) -> None:
        """Post each message to its mailbox, then mark the posted ones in one write.

        Stored already: a post that fails leaves its message queued and unpublished, and
        the recovery sweep posts it (as for a direct message whose post failed).
        """
        slots = asyncio.Semaphore(POST_CONCURRENCY)

        async def post(message: Message) -> str | None:
            async with slots:
                try:
                    # As for SendMessage: with the bus down, answer at once and leave the rest to the sweep.
                    async with asyncio.timeout(self._limits.send_publish_wait_seconds):
                        await self._mailbox.post(message)
                except Exception as error:  # noqa: BLE001 - the row is durable; recovery retries the post
                    log.warning(
                        "mailbox post of message %s failed (%s); it stays queued", message.id, type(error).__name__
                    )
                    return None
                if parent is not None and self._events is not None:
                    await self._events.delegated(parent, message.sender.id, message)
                return message.id

        posted = [message_id for message_id in await asyncio.gather(*(post(m) for m in messages)) if message_id]
        if posted:
            await self._messages.mark_published(messages[0].project_id, posted, self._clock())
