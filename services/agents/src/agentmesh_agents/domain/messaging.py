"""Sending messages to agents, reading the log, and watching conversations."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

from agentmesh_agents.domain import validation
from agentmesh_agents.domain.admission import MessageAdmission
from agentmesh_agents.domain.backlog import Backlog
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import (
    JsonValue,
    Message,
    MessageFilter,
    Page,
    Participant,
    ParticipantType,
    utcnow,
)
from agentmesh_agents.domain.monitoring.alerts import MonitorAgents, admins_only_conversation
from agentmesh_agents.domain.ports import (
    AgentRepository,
    ConversationFeed,
    Mailbox,
    MessageRepository,
    StoredEvent,
    TurnPreparation,
)
from agentmesh_agents.domain.published_marks import PublishedMarks
from agentmesh_core import pagination
from agentmesh_core.errors import NotFound
from agentmesh_core.identity import GlobalRole, Identity, project_in_scope
from agentmesh_core.ids import new_id, parse_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a client asks SendMessage to deliver (raw, validated by `send`)."""

    agent_id: str
    content: JsonValue
    conversation_id: str = ""
    idempotency_key: str = ""
    performative: str = ""
    correlation_id: str = ""


def sender_of(identity: Identity) -> Participant:
    """Who a message is from: platform services speak as SYSTEM, everyone else as USER."""
    if identity.role is GlobalRole.SERVICE:
        return Participant(ParticipantType.SYSTEM, identity.subject)
    return Participant(ParticipantType.USER, identity.subject)


class Messaging:
    """The message log and the way into agents' mailboxes."""

    def __init__(
        self,
        agents: AgentRepository,
        messages: MessageRepository,
        mailbox: Mailbox,
        feed: ConversationFeed,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
        admission: MessageAdmission | None = None,
        backlog: Backlog | None = None,
        monitors: MonitorAgents | None = None,
        preparation: TurnPreparation | None = None,
    ) -> None:
        """`preparation` starts what each accepted message's turn will need (its memory search) as it is stored."""
        self._preparation = preparation
        self._backlog = backlog
        self._monitors = monitors
        self._agents = agents
        self._messages = messages
        self._mailbox = mailbox
        self._feed = feed
        self._limits = limits
        self._clock = clock
        self._admission = admission or MessageAdmission(None)
        self._marks = PublishedMarks(messages, clock)

    async def send(self, identity: Identity, project_id: str, outgoing: Outgoing) -> Message:
        """Accept a message durably (row `queued`), then post it to the agent's mailbox.

        Returns once the row is stored: when the mailbox is unreachable the
        message stays queued and the recovery sweep posts it later. Repeating a
        send with the same idempotency key returns the first message. A project
        over its message rate, or with too many messages waiting for an answer (in
        it or in all projects: the backlog), is refused (ResourceExhausted) before
        anything is stored.
        """
        project_id = project_in_scope(identity, project_id)
        limits = self._limits
        agent_id = parse_id(outgoing.agent_id, "agent_id")
        content = validation.message_content(outgoing.content, limits)
        conversation_id = (
            parse_id(outgoing.conversation_id, "conversation_id") if outgoing.conversation_id else new_id()
        )
        message = Message(
            id=new_id(),
            project_id=project_id,
            conversation_id=conversation_id,
            sender=sender_of(identity),
            receiver=Participant(ParticipantType.AGENT, agent_id),
            content=content,
            performative=validation.performative(outgoing.performative, limits),
            idempotency_key=validation.optional_key(
                outgoing.idempotency_key, "idempotency_key", limits.idempotency_key_max_length
            ),
            correlation_id=validation.optional_key(
                outgoing.correlation_id, "correlation_id", limits.correlation_id_max_length
            ),
            created_at=(now := self._clock()),
            updated_at=now,
        )
        if self._backlog is not None:
            await self._backlog.admit(project_id)
        return await self.accept(message, new_conversation=not outgoing.conversation_id)

    async def accept(self, message: Message, new_conversation: bool = False) -> Message:
        """Admit, store and post a message built by the caller (a user's, or one agent's to another).

        Returns the first message when its idempotency key was used before (nothing is posted again).
        `new_conversation`: the message starts a conversation whose id was just made.
        The post waits at most `send_publish_wait_seconds`: with the bus down the sender is
        answered at once and the message, stored `queued`, is posted by the recovery sweep.
        """
        self._admission.sending(message.project_id)
        stored, created = await self._stored_with_preparation(message)
        if not created:
            log.info("message %s repeated with the same idempotency key", stored.id)
            return stored
        if new_conversation:
            self._feed.opened(stored.project_id, stored.conversation_id)  # before its turn can publish
        await self.post(stored, wait=self._limits.send_publish_wait_seconds)
        return stored

    async def _stored_with_preparation(self, message: Message) -> tuple[Message, bool]:
        """Store the message while its turn's preparation runs alongside (abandoned unless it is stored)."""
        if self._preparation is None:
            return await self._messages.add(message)
        self._preparation.prepare(message)
        created = False
        try:
            stored, created = await self._messages.add(message)  # NotFound for an unknown agent
        finally:
            if not created:
                self._preparation.abandon(message.id)
        return stored, created

    async def post(self, message: Message, dedup_id: str | None = None, wait: float | None = None) -> bool:
        """Hand a stored message to its mailbox; False (logged) when the bus is down or slower than wait.

        A message posted again on purpose (a parked turn going on) passes a dedup id
        of its own: the mailbox drops a repeat of an id it saw within minutes (also the
        repeat a post given up on after `wait` makes, should its publish land later).

        The row's `published_at` is written a moment later, with others (domain/published_marks.py).
        """
        try:
            async with asyncio.timeout(wait):
                await self._mailbox.post(message, dedup_id)
        except Exception as error:  # noqa: BLE001 - the row is durable; recovery retries the post
            log.warning("mailbox post of message %s failed (%s); it stays queued", message.id, type(error).__name__)
            return False
        self._marks.add(message)
        return True

    async def settle(self) -> None:
        """Write the `published_at` of the posts made so far (the recovery sweep, the service's stop, tests)."""
        await self._marks.settle()

    async def list(
        self, identity: Identity, project_id: str, where: MessageFilter, page_size: int, page_token: str
    ) -> Page[Message]:
        """One page of the message log, newest first; the filter's ids are as the client sent them."""
        project_id = project_in_scope(identity, project_id)
        where = dataclasses.replace(
            where,
            agent_id=parse_id(where.agent_id, "agent_id") if where.agent_id else None,
            conversation_id=parse_id(where.conversation_id, "conversation_id") if where.conversation_id else None,
        )
        limit = pagination.page_size(page_size)
        hidden = await admins_only_conversation(self._monitors, identity, project_id)
        if hidden is not None and where.conversation_id == hidden:
            return Page([])
        where = dataclasses.replace(where, hidden_conversation_id=hidden)
        items = await self._messages.list(project_id, where, pagination.decode_time_key(page_token), limit)
        # Keyset cursor: messages arriving between two page reads neither repeat nor skip items.
        return Page(items, pagination.next_time_key(items, limit, lambda message: (message.created_at, message.id)))

    async def watch(
        self, identity: Identity, project_id: str, conversation_id: str, after_sequence: int
    ) -> AsyncIterator[StoredEvent]:
        """A conversation's events after a sequence, then live; NotFound for unknown conversations.

        Checked once, here, before any event flows: callers may rely on this
        NotFound instead of looking the conversation up themselves.
        """
        project_id = project_in_scope(identity, project_id)
        conversation_id = parse_id(conversation_id, "conversation_id")
        after_sequence = validation.resume_sequence(after_sequence)
        hidden = await admins_only_conversation(self._monitors, identity, project_id)
        if conversation_id == hidden or not await self._messages.conversation_exists(project_id, conversation_id):
            raise NotFound("conversation not found")
        return self._feed.subscribe(project_id, conversation_id, after_sequence)

    async def delete_project_data(self, identity: Identity, project_id: str) -> dict[str, int]:
        """Remove a project's agents, messages and conversation events."""
        project_id = project_in_scope(identity, project_id, admin=True)
        agents = await self._agents.delete_project(project_id)
        messages = await self._messages.delete_project(project_id)
        await self._feed.purge_project(project_id)
        log.info("project %s data deleted: %d agents, %d messages", project_id, agents, messages)
        return {"agents": agents, "messages": messages}
