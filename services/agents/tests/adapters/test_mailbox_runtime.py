"""Mailboxes on real JetStream: partitioned consumers deliver each agent's messages in order."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

from agentmesh.agents.v1 import message_pb2
from agentmesh_agents.adapters.mailbox_runtime import MailboxRuntime
from agentmesh_agents.adapters.nats_mailbox import NatsMailbox, mailbox_payload, message_id_of
from agentmesh_agents.codec import message_proto
from agentmesh_agents.domain.lanes import LaneRunner
from agentmesh_agents.domain.models import Message, Participant, ParticipantType
from agentmesh_agents.domain.processor import Delivery, Outcome
from agentmesh_agents.domain.readiness import Dependency, Readiness
from agentmesh_devstack.waiting import eventually, never
from agentmesh_events import bus, subjects


def _id() -> str:
    return str(uuid.uuid4())


class RecordingProcessor:
    """Records deliveries per agent; optionally asks for one redelivery of chosen messages."""

    def __init__(
        self, project_id: str, expected: int, retry_once: set[str] = frozenset(), seconds: float = 0.005
    ) -> None:
        self.project_id = project_id
        self.seconds = seconds
        self.seen: dict[str, list[str]] = defaultdict(list)
        self.attempts: dict[str, list[int]] = defaultdict(list)
        self.active: dict[str, int] = defaultdict(int)
        self.overlap = False
        self._retry_once = set(retry_once)
        self._expected = expected
        self.done = asyncio.Event()

    async def process(self, delivery: Delivery) -> Outcome:
        if delivery.project_id != self.project_id:
            return Outcome.ack()  # left over by another test
        self.attempts[delivery.message_id].append(delivery.attempt)
        if delivery.message_id in self._retry_once:
            self._retry_once.discard(delivery.message_id)
            return Outcome.retry(0.2)
        self.active[delivery.agent_id] += 1
        self.overlap |= self.active[delivery.agent_id] > 1
        await asyncio.sleep(self.seconds)
        self.active[delivery.agent_id] -= 1
        self.seen[delivery.agent_id].append(delivery.message_id)
        if sum(len(ids) for ids in self.seen.values()) == self._expected:
            self.done.set()
        return Outcome.ack()


def _agents_spread(partitions: int, per_partition: int) -> list[str]:
    """Agent ids, `per_partition` of them in each partition (random ids leave one empty ~1% of the time)."""
    by_partition: dict[int, list[str]] = {partition: [] for partition in range(partitions)}
    while any(len(ids) < per_partition for ids in by_partition.values()):
        agent = _id()
        ids = by_partition[subjects.inbox_partition(agent, partitions)]
        if len(ids) < per_partition:
            ids.append(agent)
    return [agent for ids in zip(*by_partition.values(), strict=True) for agent in ids]


def _message(project_id: str, agent_id: str, n: int) -> Message:
    return Message(
        id=_id(),
        project_id=project_id,
        conversation_id=_id(),
        sender=Participant(ParticipantType.USER, "u"),
        receiver=Participant(ParticipantType.AGENT, agent_id),
        content=f"message {n}",
    )


async def test_twenty_agents_three_messages_each_arrive_in_per_agent_order(js):
    partitions = 4
    project_id = _id()
    agents = _agents_spread(partitions, per_partition=5)
    sent: dict[str, list[str]] = {agent: [] for agent in agents}
    mailbox = NatsMailbox(js, partitions)
    for n in range(3):
        for agent in agents:
            message = _message(project_id, agent, n)
            await mailbox.post(message)
            await mailbox.post(message)  # a repeated post is deduplicated by message id
            sent[agent].append(message.id)
    processor = RecordingProcessor(project_id, expected=60)
    runtime = MailboxRuntime(js, LaneRunner(processor, 5.0), partitions, batch=8, ack_wait=5, fetch_timeout=0.5)

    await runtime.start()
    try:
        await asyncio.wait_for(processor.done.wait(), timeout=30)
    finally:
        await runtime.stop(grace=2)

    assert dict(processor.seen) == sent
    assert not processor.overlap
    infos = await js.consumers_info(subjects.INBOX_STREAM)
    assert sorted(info.name for info in infos) == [f"inbox-p{n}" for n in range(partitions)]
    assert (await js.stream_info(subjects.INBOX_STREAM)).state.messages == 0  # work queue: acked = gone


async def test_retry_redelivers_with_a_higher_attempt(js):
    project_id, agent = _id(), _id()
    mailbox = NatsMailbox(js, 2)
    message = _message(project_id, agent, 0)
    await mailbox.post(message)
    processor = RecordingProcessor(project_id, expected=1, retry_once={message.id})
    runtime = MailboxRuntime(js, LaneRunner(processor, 5.0), 2, batch=4, ack_wait=5, fetch_timeout=0.5)

    await runtime.start()
    try:
        await asyncio.wait_for(processor.done.wait(), timeout=20)
    finally:
        await runtime.stop(grace=2)

    assert processor.attempts[message.id] == [1, 2]


async def test_stop_hands_back_unfinished_work(js):
    project_id, agent = _id(), _id()
    mailbox = NatsMailbox(js, 1)
    message = _message(project_id, agent, 0)
    await mailbox.post(message)
    started = asyncio.Event()

    class Stuck:
        async def process(self, delivery: Delivery) -> Outcome:
            started.set()
            await asyncio.sleep(60)
            return Outcome.ack()

    runtime = MailboxRuntime(js, LaneRunner(Stuck(), 5.0), 1, batch=1, ack_wait=30, fetch_timeout=0.5)
    await runtime.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    await runtime.stop(grace=0.1)

    processor = RecordingProcessor(project_id, expected=1)
    again = MailboxRuntime(js, LaneRunner(processor, 5.0), 1, batch=1, ack_wait=30, fetch_timeout=0.5)
    await again.start()
    try:
        await asyncio.wait_for(processor.done.wait(), timeout=10)  # nak'ed at stop: no 30 s ack wait
    finally:
        await again.stop(grace=1)
    assert processor.attempts[message.id] == [2]


def test_the_payload_is_a_reference_to_the_stored_message():
    message_id = _id()
    assert message_pb2.Message.FromString(mailbox_payload(message_id)) == message_pb2.Message(id=message_id)
    assert message_id_of(mailbox_payload(message_id)) == message_id
    assert message_id_of(b"") is None  # no id
    assert message_id_of(b"\xff\xff") is None  # not a proto


async def test_full_message_payloads_posted_before_the_upgrade_are_still_delivered(js):
    project_id, agent = _id(), _id()
    old = _message(project_id, agent, 0)
    subject = subjects.inbox_subject(project_id, agent, 1)
    await js.publish(subject, message_proto(old).SerializeToString(), stream=subjects.INBOX_STREAM)
    new = _message(project_id, agent, 1)
    await NatsMailbox(js, 1).post(new)
    processor = RecordingProcessor(project_id, expected=2)
    runtime = MailboxRuntime(js, LaneRunner(processor, 5.0), 1, batch=4, ack_wait=5, fetch_timeout=0.5)

    await runtime.start()
    try:
        await asyncio.wait_for(processor.done.wait(), timeout=20)
    finally:
        await runtime.stop(grace=2)

    assert processor.seen[agent] == [old.id, new.id]


class Switch:
    """A health probe the test turns on."""

    def __init__(self) -> None:
        self.up = False

    async def __call__(self) -> bool:
        return self.up


async def test_nothing_is_fetched_until_the_services_a_turn_needs_are_up(js):
    project_id, agent = _id(), _id()
    message = _message(project_id, agent, 0)
    await NatsMailbox(js, 1).post(message)
    inference = Switch()
    readiness = Readiness({Dependency.INFERENCE: inference}, wait_seconds=30, interval=0.05)
    processor = RecordingProcessor(project_id, expected=1)
    runtime = MailboxRuntime(
        js, LaneRunner(processor, 5.0), 1, batch=4, ack_wait=5, fetch_timeout=0.5, readiness=readiness
    )

    await runtime.start()
    try:
        await never(lambda: processor.seen, within=1.5, why="inference is not up: consumption waits")
        inference.up = True
        await asyncio.wait_for(processor.done.wait(), timeout=20)
    finally:
        await runtime.stop(grace=2)
    assert processor.attempts[message.id] == [1]  # waiting cost no delivery


async def test_consumption_pauses_while_a_service_is_down_and_goes_on_when_it_is_back(js):
    project_id, agent = _id(), _id()
    mailbox = NatsMailbox(js, 1)
    first, second = _message(project_id, agent, 0), _message(project_id, agent, 1)
    inference = Switch()
    inference.up = True
    readiness = Readiness({Dependency.INFERENCE: inference}, wait_seconds=30, interval=0.05)
    processor = RecordingProcessor(project_id, expected=2)
    runtime = MailboxRuntime(
        js, LaneRunner(processor, 5.0), 1, batch=4, ack_wait=5, fetch_timeout=0.2, readiness=readiness
    )

    await runtime.start()
    try:
        await mailbox.post(first)
        await eventually(lambda: processor.seen.get(agent) == [first.id], timeout=20, what="the first message")
        inference.up = False
        await eventually(lambda: runtime.paused == 1, timeout=10, what="the worker to stop fetching")
        await mailbox.post(second)
        await never(lambda: len(processor.seen[agent]) > 1, within=1.5, why="inference is down: consumption pauses")
        inference.up = True
        await asyncio.wait_for(processor.done.wait(), timeout=20)
    finally:
        await runtime.stop(grace=2)
    assert processor.attempts[second.id] == [1]


async def test_a_message_at_the_delivery_limit_is_posted_again_and_answered(js):
    project_id, agent = _id(), _id()
    message = _message(project_id, agent, 0)
    await NatsMailbox(js, 1).post(message)

    class Reluctant(RecordingProcessor):
        async def process(self, delivery: Delivery) -> Outcome:
            if delivery.project_id == self.project_id and len(self.attempts[delivery.message_id]) < 4:
                self.attempts[delivery.message_id].append(delivery.attempt)
                return Outcome.retry(0.05)
            return await super().process(delivery)

    processor = Reluctant(project_id, expected=1)
    runtime = MailboxRuntime(js, LaneRunner(processor, 5.0), 1, batch=4, ack_wait=5, max_deliver=2, fetch_timeout=0.5)

    await runtime.start()
    try:
        await asyncio.wait_for(processor.done.wait(), timeout=20)
    finally:
        await runtime.stop(grace=2)

    # Two deliveries per entry, then a new entry at the tail; the fifth delivery answers it.
    assert processor.attempts[message.id] == [1, 2, 1, 2, 1]

    async def inbox_empty() -> bool:
        return (await js.stream_info(subjects.INBOX_STREAM)).state.messages == 0

    await eventually(inbox_empty, timeout=10, what="every entry acked (none left behind at the limit)")


async def test_a_long_turn_and_those_waiting_behind_it_keep_their_delivery(js):
    project_id, agent = _id(), _id()
    mailbox = NatsMailbox(js, 1)
    first, second = _message(project_id, agent, 0), _message(project_id, agent, 1)
    await mailbox.post(first)
    await mailbox.post(second)
    processor = RecordingProcessor(project_id, expected=2, seconds=2.5)  # each longer than the ack wait
    runtime = MailboxRuntime(js, LaneRunner(processor, 0.5), 1, batch=4, ack_wait=2, fetch_timeout=0.5)

    await runtime.start()
    try:
        await asyncio.wait_for(processor.done.wait(), timeout=30)
    finally:
        await runtime.stop(grace=2)

    assert processor.seen[agent] == [first.id, second.id]
    assert processor.attempts == {first.id: [1], second.id: [1]}  # heartbeats: never handed out again


async def test_a_crashed_runtimes_messages_are_picked_up_after_the_short_ack_wait(js, nats_url):
    project_id, agent = _id(), _id()
    message = _message(project_id, agent, 0)
    await NatsMailbox(js, 1).post(message)
    started = asyncio.Event()

    class Stuck:
        async def process(self, delivery: Delivery) -> Outcome:
            started.set()
            await asyncio.sleep(60)
            return Outcome.ack()

    # The crashing runtime has its own connection: closing it stops heartbeats and any hand-back.
    doomed = await bus.connect(nats_url, "agents-crash-test")
    crashing = MailboxRuntime(doomed.jetstream(), LaneRunner(Stuck(), 0.5), 1, batch=1, ack_wait=2, fetch_timeout=0.5)
    await crashing.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    await doomed.close()
    crashed_at = asyncio.get_running_loop().time()

    processor = RecordingProcessor(project_id, expected=1)
    again = MailboxRuntime(js, LaneRunner(processor, 0.5), 1, batch=1, ack_wait=2, fetch_timeout=0.5)
    await again.start()
    try:
        await eventually(lambda: processor.seen, timeout=20, what="the crashed runtime's message")
    finally:
        await again.stop(grace=1)
        await crashing.stop(grace=0)
    waited = asyncio.get_running_loop().time() - crashed_at
    assert processor.attempts[message.id] == [2]
    assert waited < 10, f"picked up {waited:.1f}s after the crash"


async def test_a_busy_agent_does_not_hold_up_the_others_of_its_partition(js):
    project_id, busy, other = _id(), _id(), _id()
    mailbox = NatsMailbox(js, 1)
    released = asyncio.Event()
    order: list[str] = []

    class OneBusyAgent:
        """The busy agent's turns wait for `released`; the other agent's answer at once."""

        async def process(self, delivery: Delivery) -> Outcome:
            if delivery.project_id != project_id:
                return Outcome.ack()  # left over by another test
            order.append(delivery.message_id)
            if delivery.agent_id == busy:
                await released.wait()
            return Outcome.ack()

    runtime = MailboxRuntime(js, LaneRunner(OneBusyAgent(), 0.5), 1, batch=4, ack_wait=5, fetch_timeout=0.2)
    await runtime.start()
    try:
        busy_first, busy_second = _message(project_id, busy, 0), _message(project_id, busy, 1)
        await mailbox.post(busy_first)
        await eventually(lambda: busy_first.id in order, timeout=10, what="the busy agent's first turn")
        # Posted after the busy agent's turn began, each fetched on its own: the other agent's go on.
        await mailbox.post(busy_second)
        others = [_message(project_id, other, n) for n in range(3)]
        for message in others:
            await mailbox.post(message)
            await eventually(lambda m=message: m.id in order, timeout=10, what="the other agent's message")
        assert busy_second.id not in order  # one at a time per agent: it waits for the first
        released.set()
        await eventually(lambda: busy_second.id in order, timeout=10, what="the busy agent's second turn")
    finally:
        released.set()
        await runtime.stop(grace=2)
    assert order == [busy_first.id, *(m.id for m in others), busy_second.id]
    info = await js.stream_info(subjects.INBOX_STREAM)
    assert info.state.messages == 0  # every entry acked
