"""The agent runtime's transport: one durable pull consumer per inbox partition.

Thousands of agents need only `partitions` consumers: each worker owns one
partition and hands what it fetches to the LaneRunner (in order and one at a time
per agent, agents concurrently). It keeps fetching while earlier messages are in
progress, up to four batches of unsettled messages per partition, so one busy agent
does not hold up the others of its partition; a later message for a busy agent
waits in that agent's lane.

Workers fetch only while the services a turn needs are up (domain/readiness.py):
a restart of inference or the database pauses consumption instead of failing
messages. The ack wait is short (a crashed runtime's messages come back within
seconds) and the lanes send heartbeats for the messages they hold. A message that
reaches the delivery limit is posted again at the tail of its mailbox at once (and
the old entry acked): the order check still answers the agent's messages in order.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header

from agentmesh_agents.adapters.nats_mailbox import message_id_of
from agentmesh_agents.domain.lanes import LaneRunner
from agentmesh_agents.domain.processor import Delivery, Outcome
from agentmesh_agents.domain.readiness import Readiness
from agentmesh_events import subjects
from agentmesh_events.bus import context_from_headers, trace_parent_from_headers

log = logging.getLogger(__name__)

DURABLE_PREFIX = "inbox-p"


class NatsInboxItem:
    """A fetched JetStream message as the LaneRunner sees it."""

    def __init__(self, msg: Msg, delivery: Delivery, max_deliver: int, js: JetStreamContext) -> None:
        self.msg = msg
        self.delivery = delivery
        self.settled = False
        self.lane: asyncio.Future[None] | None = None  # done when the lane has settled it
        self._max_deliver = max_deliver
        self._js = js

    async def settle(self, outcome: Outcome) -> None:
        self.settled = True
        if outcome.done:
            await self.msg.ack()
        elif self.delivery.attempt >= self._max_deliver:
            # JetStream would stop delivering it but keep it in the work queue: post it again
            # (a new entry, a dedup id of its own), then ack this one.
            await self._post_again()
            log.warning("message %s reached %d deliveries; posted again", self.delivery.message_id, self._max_deliver)
            await self.msg.ack()
        else:
            await self.msg.nak(delay=outcome.delay or None)

    async def _post_again(self) -> None:
        headers = dict(self.msg.headers or {})
        headers[Header.MSG_ID.value] = f"{self.delivery.message_id}-again-{self.msg.metadata.sequence.stream}"
        await self._js.publish(self.msg.subject, self.msg.data, stream=subjects.INBOX_STREAM, headers=headers)

    async def heartbeat(self) -> None:
        await self.msg.in_progress()


def delivery_of(msg: Msg) -> Delivery | None:
    """Where a mailbox message goes and which stored message it stands for; None if malformed."""
    parts = msg.subject.split(".")
    if len(parts) != 5:
        return None
    message_id = message_id_of(msg.data)
    if message_id is None:
        return None
    return Delivery(
        project_id=parts[3],
        agent_id=parts[4],
        message_id=message_id,
        attempt=msg.metadata.num_delivered,
        request_id=context_from_headers(msg.headers).get("request_id"),
        trace_parent=trace_parent_from_headers(msg.headers),
    )


def _let_go(held: set[NatsInboxItem], item: NatsInboxItem, room: asyncio.Event, _: object) -> None:
    held.discard(item)
    room.set()


class MailboxRuntime:
    """Runs the partition workers until stopped."""

    def __init__(
        self,
        js: JetStreamContext,
        lanes: LaneRunner,
        partitions: int,
        batch: int = 16,
        ack_wait: float = 6.0,
        max_deliver: int = 200,
        fetch_timeout: float = 1.0,
        readiness: Readiness | None = None,
    ) -> None:
        self._js = js
        self._lanes = lanes
        self._partitions = partitions
        self._batch = batch
        self._ack_wait = ack_wait
        self._max_deliver = max_deliver
        self._fetch_timeout = fetch_timeout
        self._readiness = readiness
        self._stopping = asyncio.Event()
        self._capacity = batch * 4  # unsettled messages a partition holds at most (max_ack_pending is more)
        self._workers: list[asyncio.Task[None]] = []
        self._held: dict[int, set[NatsInboxItem]] = {}
        self._checking: asyncio.Task[None] | None = None
        self._paused: set[int] = set()  # partitions whose worker waits for the services a turn needs

    def consumer_config(self, partition: int) -> ConsumerConfig:
        name = f"{DURABLE_PREFIX}{partition}"
        return ConsumerConfig(
            name=name,
            durable_name=name,
            filter_subject=subjects.inbox_partition_filter(partition),
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_deliver=self._max_deliver,
            max_ack_pending=max(self._batch * 4, 64),
        )

    @property
    def paused(self) -> int:
        """How many partition workers wait for the services a turn needs instead of fetching."""
        return len(self._paused)

    async def start(self) -> None:
        """Create (or update) the partition consumers and start one worker each (and the health checks)."""
        if self._readiness is not None:
            self._checking = asyncio.create_task(self._readiness.run(self._stopping), name="readiness")
        for partition in range(self._partitions):
            config = self.consumer_config(partition)
            await self._js.add_consumer(subjects.INBOX_STREAM, config)
            subscription = await self._js.pull_subscribe_bind(config.durable_name, stream=subjects.INBOX_STREAM)
            self._workers.append(asyncio.create_task(self._work(partition, subscription), name=config.name))
        log.info("agent runtime consuming %d inbox partitions", self._partitions)

    async def stop(self, grace: float) -> None:
        """Stop fetching, give the messages in hand `grace` seconds, then hand the rest back."""
        self._stopping.set()
        if self._checking is not None:
            await self._checking
            self._checking = None
        if not self._workers:
            return
        for task in self._workers:
            task.cancel()  # the workers only fetch: the turns run in the lanes
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        in_hand = [item for held in self._held.values() for item in held]
        lanes = [item.lane for item in in_hand if item.lane is not None]
        if lanes:
            await asyncio.wait(lanes, timeout=grace)
            await self._lanes.stop()
        for item in in_hand:
            if not item.settled:  # given back for another runtime
                try:
                    await item.msg.nak()
                except NatsError:
                    pass
        log.info("agent runtime stopped")

    async def _work(self, partition: int, subscription: JetStreamContext.PullSubscription) -> None:
        held = self._held.setdefault(partition, set())  # fetched, not settled yet
        room = asyncio.Event()
        try:
            while True:
                try:
                    if len(held) >= self._capacity:
                        room.clear()
                        await room.wait()
                        continue
                    if self._readiness is not None and not self._readiness.is_up():
                        # Consumption pauses (a stop cancels the wait). A fetch already under way when a
                        # service went down still hands over what it got: those turns wait on their own.
                        self._paused.add(partition)
                        try:
                            await self._readiness.wait_up()
                        finally:
                            self._paused.discard(partition)
                        continue
                    wanted = min(self._batch, self._capacity - len(held))
                    msgs = await subscription.fetch(wanted, timeout=self._fetch_timeout)
                except TimeoutError:
                    continue
                except NatsError as error:
                    log.warning("inbox partition %d fetch failed (%s)", partition, type(error).__name__)
                    await asyncio.sleep(1.0)
                    continue
                for item in await self._items(msgs):
                    held.add(item)
                    item.lane = self._lanes.submit(item)
                    item.lane.add_done_callback(functools.partial(_let_go, held, item, room))
        finally:
            try:
                await subscription.unsubscribe()
            except NatsError:
                pass

    async def _items(self, msgs: list[Msg]) -> list[NatsInboxItem]:
        items: list[NatsInboxItem] = []
        for msg in msgs:
            delivery = delivery_of(msg)
            if delivery is None:
                log.error("malformed mailbox message on %s terminated", msg.subject)
                try:
                    await msg.term()
                except NatsError:
                    pass
                continue
            items.append(NatsInboxItem(msg, delivery, self._max_deliver, self._js))
        return items
