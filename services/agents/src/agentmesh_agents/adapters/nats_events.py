"""Conversation events on JetStream (stream AM_EVENTS, kept 24 h).

Publishing sends `ConversationEvent` protos to the conversation's subject;
watching is an ordered push consumer on that one subject, starting after a
stream sequence. Watchers get each event as stored, with its stream sequence
beside it (so a client can resume exactly where it stopped): it is relayed,
never decoded here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from agentmesh_agents.codec import encode_event
from agentmesh_agents.domain.models import ConversationEvent
from agentmesh_agents.domain.ports import StoredEvent
from agentmesh_core.errors import Unavailable
from agentmesh_events import subjects
from agentmesh_events.bus import outgoing_headers

log = logging.getLogger(__name__)

_POLL_SECONDS = 5.0


class NatsConversationEvents:
    """ConversationEvents and ConversationFeed on JetStream."""

    def __init__(self, js: JetStreamContext, timeout: float = 5.0) -> None:
        self._js = js
        self._timeout = timeout

    async def publish(self, event: ConversationEvent, dedup_id: str | None = None) -> None:
        subject = subjects.conversation_subject(event.project_id, event.conversation_id)
        try:
            await self._js.publish(
                subject,
                encode_event(event),
                timeout=self._timeout,
                stream=subjects.EVENTS_STREAM,
                headers=outgoing_headers(msg_id=dedup_id),
            )
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error

    async def subscribe(self, project_id: str, conversation_id: str, after_sequence: int) -> AsyncIterator[StoredEvent]:
        subject = subjects.conversation_subject(project_id, conversation_id)
        if after_sequence:
            policy, config = DeliverPolicy.BY_START_SEQUENCE, ConsumerConfig(opt_start_seq=after_sequence + 1)
        else:
            policy, config = DeliverPolicy.ALL, ConsumerConfig()
        try:
            subscription = await self._js.subscribe(
                subject,
                stream=subjects.EVENTS_STREAM,
                ordered_consumer=True,
                deliver_policy=policy,
                config=config,
            )
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error
        try:
            while True:
                try:
                    msg = await subscription.next_msg(timeout=_POLL_SECONDS)
                except TimeoutError:
                    continue
                yield StoredEvent(msg.metadata.sequence.stream, msg.data)
        finally:
            await self._close(subscription)

    async def _close(self, subscription: JetStreamContext.PushSubscription) -> None:
        # Delete the ephemeral consumer now rather than leave it to the server's inactivity timer.
        try:
            name = (await subscription.consumer_info()).name
            await subscription.unsubscribe()
            await self._js.delete_consumer(subjects.EVENTS_STREAM, name)
        except (NatsError, TimeoutError) as error:
            log.debug("closing a conversation watch failed: %s", type(error).__name__)

    async def purge_project(self, project_id: str) -> None:
        try:
            await self._js.purge_stream(
                subjects.EVENTS_STREAM, subject=subjects.project_conversations_filter(project_id)
            )
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error
