"""Agents' mailboxes on JetStream: one subject per agent, partitioned, in the AM_INBOX work queue.

The payload is a reference, not the message: an `agentmesh.agents.v1.Message`
proto with only `id` set (the subject already names project and agent, and the
row in PostgreSQL is the record the runtime reads). Keeping the Message type
means payloads posted before this change, which carried the whole message,
decode the same way: the consumer has only ever read `id`.
"""

from __future__ import annotations

import logging

from google.protobuf.message import DecodeError
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from agentmesh.agents.v1 import message_pb2
from agentmesh_agents.domain.models import Message, ParticipantType
from agentmesh_core.errors import InvalidInput, Unavailable
from agentmesh_events import subjects
from agentmesh_events.bus import outgoing_headers
from agentmesh_observability import context

log = logging.getLogger(__name__)


def mailbox_payload(message_id: str) -> bytes:
    """What a mailbox entry carries: a Message proto holding only the id."""
    return message_pb2.Message(id=message_id).SerializeToString()


def message_id_of(payload: bytes) -> str | None:
    """The message id a mailbox entry stands for (old full-message payloads included); None if malformed."""
    try:
        return message_pb2.Message.FromString(payload).id or None
    except DecodeError:
        return None


class NatsMailbox:
    """Mailbox: publishes a reference to the message on the receiver's inbox subject."""

    def __init__(self, js: JetStreamContext, partitions: int, timeout: float = 5.0) -> None:
        self._js = js
        self._partitions = partitions
        self._timeout = timeout

    async def post(self, message: Message, dedup_id: str | None = None) -> None:
        if message.receiver.type is not ParticipantType.AGENT:
            raise InvalidInput("only agents have mailboxes")
        agent_id = message.receiver.id
        subject = subjects.inbox_subject(message.project_id, agent_id, self._partitions)
        with context.bind(project_id=message.project_id, agent_id=agent_id, message_id=message.id):
            headers = outgoing_headers(msg_id=dedup_id or message.id)
        try:
            await self._js.publish(
                subject,
                mailbox_payload(message.id),
                timeout=self._timeout,
                stream=subjects.INBOX_STREAM,
                headers=headers,
            )
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error
        log.debug("message %s posted to %s", message.id, subject)
