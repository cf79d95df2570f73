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
from agentmesh_events import subjects


def _id() -> str:
    return str(uuid.uuid4())


class RecordingProcessor:
    """Records deliveries per agent; optionally asks for one redelivery of chosen messages."""

    def __init__(self, project_id: str, expected: int, retry_once: set[str] = frozenset()) -> None:
        self.project_id = project_id
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
        await asyncio.sleep(0.005)
        self.active[delivery.agent_id] -= 1
        self.seen[delivery.agent_id].append(delivery.message_id)
        if sum(len(ids) for ids in self.seen.values()) == self._expected:
            self.done.set()
        return Outcome.ack()


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
    agents = [_id() for _ in range(20)]
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
    assert len({subjects.inbox_partition(agent, partitions) for agent in agents}) == partitions
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
