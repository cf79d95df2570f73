"""Conversation events on JetStream (stream AM_EVENTS, kept 24 h).

Publishing sends `ConversationEvent` protos to the conversation's subject;
watching is an ordered push consumer on that one subject. Watchers get each
event as stored, relayed, never decoded here, with its number beside it.

An event's number is its place in *its conversation* (1, 2, 3, ...), carried in
the `Agentmesh-Event-Seq` header, never the stream sequence: that one counts
every tenant's events, so its gaps would show a tenant how busy the others are.
The publisher numbers an event one past the conversation's last and publishes
it on the condition that the subject's last message is still that one
(`Nats-Expected-Last-Subject-Sequence`), so concurrent publishers, in this
process or in other replicas, never hand out a number twice: the loser reads
the new last event and tries again. Each conversation's last (number, stream
sequence) is cached, so the usual publish is one round trip.

A watch's ephemeral consumer is removed by the server `WATCH_IDLE_SECONDS` after
its watcher unsubscribes (its inactivity threshold): asking for its name and
deleting it at the close cost two JetStream API round trips a watch (~1 ms of
this process's CPU and ~1 ms of the server's, one watch per message a client
follows).

Resuming after number N replays the conversation's subject from its start and
skips to N + 1 (a conversation holds at most a day of events). Events stored
before numbering existed have no number and are not relayed. When every event
of a conversation has aged out (24 h idle) and this process has restarted,
numbering starts again at 1.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, Header
from nats.js.errors import APIError, NotFoundError

from agentmesh_agents.codec import encode_event
from agentmesh_agents.domain.models import ConversationEvent
from agentmesh_agents.domain.ports import StoredEvent
from agentmesh_core.errors import Unavailable
from agentmesh_events import subjects
from agentmesh_events.bus import outgoing_headers

log = logging.getLogger(__name__)

SEQUENCE_HEADER = "Agentmesh-Event-Seq"
_POLL_SECONDS = 5.0
# How long the server keeps a watch's consumer once nobody is subscribed to it.
WATCH_IDLE_SECONDS = 2.0
# JetStream's error code for a failed Nats-Expected-Last-Subject-Sequence condition.
_WRONG_LAST_SEQUENCE = 10071
# Publishers racing for one conversation: each attempt loses only to a publish that won.
_MAX_ATTEMPTS = 20
_CACHED_CONVERSATIONS = 10_000


def event_number(headers: dict[str, str] | None) -> int:
    """The conversation number an event was stored with; 0 when it has none."""
    value = (headers or {}).get(SEQUENCE_HEADER, "")
    return int(value) if value.isascii() and value.isdigit() else 0


class NatsConversationEvents:
    """ConversationEvents and ConversationFeed on JetStream."""

    def __init__(self, js: JetStreamContext, timeout: float = 5.0) -> None:
        self._js = js
        self._timeout = timeout
        # subject -> (number, stream sequence) of the conversation's last event, as far as we know.
        self._last: OrderedDict[str, tuple[int, int]] = OrderedDict()

    async def publish(self, event: ConversationEvent, dedup_id: str | None = None) -> None:
        subject = subjects.conversation_subject(event.project_id, event.conversation_id)
        data = encode_event(event)
        try:
            for _ in range(_MAX_ATTEMPTS):
                known = self._last.get(subject)
                number, last_sequence = known or await self._read_last(subject)
                headers = outgoing_headers(
                    msg_id=dedup_id,
                    extra={
                        SEQUENCE_HEADER: str(number + 1),
                        Header.EXPECTED_LAST_SUBJECT_SEQUENCE.value: str(last_sequence),
                    },
                )
                try:
                    ack = await self._js.publish(
                        subject, data, timeout=self._timeout, stream=subjects.EVENTS_STREAM, headers=headers
                    )
                except APIError as error:
                    if error.err_code != _WRONG_LAST_SEQUENCE:
                        raise
                    self._last.pop(subject, None)
                    if known is not None:
                        # Someone else published, or the subject aged out or was purged:
                        # read the truth, but never count back below what was handed out here.
                        self._remember(subject, *_at_least(await self._read_last(subject), known[0]))
                    continue
                if ack.duplicate:
                    self._last.pop(subject, None)  # the stored copy keeps the number it was given
                else:
                    self._remember(subject, number + 1, ack.seq)
                return
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error
        raise Unavailable("conversation events are contended; try again")

    def opened(self, project_id: str, conversation_id: str) -> None:
        # Nothing is stored on a subject that did not exist: numbering starts without a look-up. Were
        # it wrong (an id made twice), the publish's condition fails and the truth is read then.
        self._remember(subjects.conversation_subject(project_id, conversation_id), 0, 0)

    async def _read_last(self, subject: str) -> tuple[int, int]:
        try:
            last = await self._js.get_last_msg(subjects.EVENTS_STREAM, subject)
        except NotFoundError:
            return 0, 0
        return event_number(last.headers), last.seq or 0

    def _remember(self, subject: str, number: int, sequence: int) -> None:
        self._last[subject] = (number, sequence)
        self._last.move_to_end(subject)
        while len(self._last) > _CACHED_CONVERSATIONS:
            self._last.popitem(last=False)

    async def subscribe(self, project_id: str, conversation_id: str, after_sequence: int) -> AsyncIterator[StoredEvent]:
        subject = subjects.conversation_subject(project_id, conversation_id)
        try:
            subscription = await self._js.subscribe(
                subject,
                stream=subjects.EVENTS_STREAM,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
                config=ConsumerConfig(),
                inactive_threshold=WATCH_IDLE_SECONDS,
            )
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error
        try:
            while True:
                try:
                    msg = await subscription.next_msg(timeout=_POLL_SECONDS)
                except TimeoutError:
                    continue
                number = event_number(msg.headers)
                if number > after_sequence:  # also drops events stored without a number (0)
                    yield StoredEvent(number, msg.data)
        finally:
            await self._close(subscription)

    async def _close(self, subscription: JetStreamContext.PushSubscription) -> None:
        # The server deletes the ephemeral consumer WATCH_IDLE_SECONDS after this.
        try:
            await subscription.unsubscribe()
        except (NatsError, TimeoutError) as error:
            log.debug("closing a conversation watch failed: %s", type(error).__name__)

    async def purge_project(self, project_id: str) -> None:
        try:
            await self._js.purge_stream(
                subjects.EVENTS_STREAM, subject=subjects.project_conversations_filter(project_id)
            )
        except (NatsError, TimeoutError) as error:
            raise Unavailable("message bus unavailable") from error


def _at_least(last: tuple[int, int], number: int) -> tuple[int, int]:
    return max(last[0], number), last[1]
