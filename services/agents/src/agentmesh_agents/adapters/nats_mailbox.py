"""Agents' mailboxes on JetStream: one subject per agent, partitioned, in the AM_INBOX work queue."""

from __future__ import annotations

import logging

from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from agentmesh_agents.domain.models import Message, ParticipantType
from agentmesh_agents.rpc.mapping import message_proto
from agentmesh_core.errors import InvalidInput, Unavailable
from agentmesh_events import subjects
from agentmesh_events.bus import outgoing_headers
from agentmesh_observability import context

log = logging.getLogger(__name__)


class NatsMailbox:
    """Mailbox: publishes the Message proto to the receiver's inbox subject."""

    def __init__(self, js: JetStreamContext, partitions: int, timeout: float = 5.0) -> None:
        self._js = js
        self._partitions = partitions
        self._timeout = timeout

    async def post(self, message: Message) -> None:
        if message.receiver.type is not ParticipantType.AGENT:
            raise InvalidInput("only agents have mailboxes")
        agent_id = message.receiver.id
        subject = subjects.inbox_subject(message.project_id, agent_id, self._partitions)
        with context.bind(project_id=message.project_id, agent_id=agent_id, message_id=message.id):
            headers = outgoing_headers(msg_id=message.id)
        try:
            await self._js.publish(
                subject,
                message_proto(message).SerializeToString(),
                timeout=self._timeout,
                stream=subjects.INBOX_STREAM,
                headers=headers,
            )
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error
        log.debug("message %s posted to %s", message.id, subject)
