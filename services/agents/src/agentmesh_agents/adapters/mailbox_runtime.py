"""The agent runtime's transport: one durable pull consumer per inbox partition.

Thousands of agents need only `partitions` consumers: each worker owns one
partition, fetches a batch, lets the LaneRunner process it (in order per agent,
agents concurrently) and fetches again only when the batch is settled.

Workers fetch only while the services a turn needs are up (domain/readiness.py):
a restart of inference or the database pauses consumption instead of failing
messages. The ack wait is short (a crashed runtime's messages come back within
seconds) and the lanes send heartbeats for the messages they hold. A message that
reaches the delivery limit is posted again at the tail of its mailbox at once (and
the old entry acked): the order check still answers the agent's messages in order.
"""

from __future__ import annotations

import asyncio
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
        self._workers: list[asyncio.Task[None]] = []
        self._idle: set[asyncio.Task[None]] = set()
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
        """Stop fetching, give in-flight batches `grace` seconds, then hand the rest back."""
        self._stopping.set()
        if self._checking is not None:
            await self._checking
            self._checking = None
        if not self._workers:
            return
        for task in self._idle:
            task.cancel()  # only waiting for messages: nothing to finish
        _, pending = await asyncio.wait(self._workers, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        log.info("agent runtime stopped")

    async def _work(self, partition: int, subscription: JetStreamContext.PullSubscription) -> None:
        me = asyncio.current_task()
        assert me is not None
        try:
            while not self._stopping.is_set():
                self._idle.add(me)
                try:
                    if self._readiness is not None and not self._readiness.is_up():
                        # Consumption pauses (a stop cancels the wait). A fetch already under way when a
                        # service went down still hands over what it got: those turns wait on their own.
                        self._paused.add(partition)
                        try:
                            await self._readiness.wait_up()
                        finally:
                            self._paused.discard(partition)
                        continue
                    msgs = await subscription.fetch(self._batch, timeout=self._fetch_timeout)
                except TimeoutError:
                    continue
                except NatsError as error:
                    log.warning("inbox partition %d fetch failed (%s)", partition, type(error).__name__)
                    await asyncio.sleep(1.0)
                    continue
                finally:
                    self._idle.discard(me)
                await self._run(msgs)
        finally:
            try:
                await subscription.unsubscribe()
            except NatsError:
                pass

    async def _run(self, msgs: list[Msg]) -> None:
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
        try:
            await self._lanes.run_batch(items)
        except asyncio.CancelledError:
            # Shutting down mid-batch: give back what was not settled, for another worker.
            for item in items:
                if not item.settled:
                    try:
                        await item.msg.nak()
                    except NatsError:
                        pass
            raise
