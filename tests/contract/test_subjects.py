"""Every NATS subject maps to exactly one payload type, and the code keeps to it.

The table is `agentmesh_events.subjects.FAMILIES`. Checked here: the families do
not overlap and their payloads are real protobuf messages; the subject builders
land in the family they are meant for; `ensure_streams` declares exactly the
table's streams; and the real publishers (the agents service's NATS adapters,
driven with a recording JetStream) send each subject's payload type on its stream.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pool, message_factory, unknown_fields
from google.protobuf.message import DecodeError, Message
from nats.js.api import PubAck
from nats.js.errors import NotFoundError

import agentmesh
from agentmesh_agents.adapters.nats_events import NatsConversationEvents
from agentmesh_agents.adapters.nats_mailbox import NatsMailbox
from agentmesh_agents.adapters.system_events import NatsSystemEvents
from agentmesh_agents.domain.models import (
    ConversationEvent,
    EventType,
    MessageStatus,
    Participant,
    ParticipantType,
)
from agentmesh_agents.domain.models import Message as AgentMessage
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind
from agentmesh_core.ids import new_id
from agentmesh_events import bus, subjects
from agentmesh_events.subjects import CONVERSATIONS, FAMILIES, INBOX, SYSTEM, family_of


def _load_contracts() -> None:
    root = Path(next(iter(agentmesh.__path__)))
    for path in root.rglob("*_pb2.py"):
        importlib.import_module(".".join(("agentmesh", *path.relative_to(root).with_suffix("").parts)))


def payload_class(name: str) -> type[Message]:
    _load_contracts()
    return message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(name))


def test_families_do_not_overlap_and_each_has_its_own_stream() -> None:
    prefixes = [family.wildcard.removesuffix(">") for family in FAMILIES]
    for a in prefixes:
        for b in prefixes:
            assert a == b or not a.startswith(b), f"{a}> overlaps {b}>"
    assert len({family.stream for family in FAMILIES}) == len(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.stream)
def test_every_payload_is_a_protobuf_message_of_the_contracts(family: subjects.SubjectFamily) -> None:
    assert payload_class(family.payload).DESCRIPTOR.full_name == family.payload


def test_subject_builders_land_in_their_family() -> None:
    project, agent, conversation = new_id(), new_id(), new_id()
    assert family_of(subjects.inbox_subject(project, agent, 8)) is INBOX
    assert family_of(subjects.conversation_subject(project, conversation)) is CONVERSATIONS
    assert family_of(subjects.inbox_partition_filter(3).replace(">", "x")) is INBOX
    assert family_of(subjects.project_conversations_filter(project).replace("*", conversation)) is CONVERSATIONS
    assert family_of(subjects.system_subject(project)) is SYSTEM
    with pytest.raises(ValueError):
        family_of("am.elsewhere.x")


@dataclass
class RecordingJetStream:
    """The part of a JetStreamContext the publishers and ensure_streams use."""

    published: list[tuple[str, bytes, str | None]] = field(default_factory=list)
    streams: list[Any] = field(default_factory=list)

    async def publish(self, subject: str, payload: bytes = b"", *, stream: str | None = None, **_: Any) -> PubAck:
        self.published.append((subject, payload, stream))
        return PubAck(stream=stream or "", seq=len(self.published))

    async def get_last_msg(self, _stream_name: str, _subject: str) -> Any:
        # An empty stream: the events publisher numbers a new conversation from 1.
        raise NotFoundError

    async def add_stream(self, config: Any) -> None:
        self.streams.append(config)


async def test_ensure_streams_declares_the_table() -> None:
    js = RecordingJetStream()
    await bus.ensure_streams(js)  # type: ignore[arg-type]
    declared = {(config.name, tuple(config.subjects)) for config in js.streams}
    assert declared == {(family.stream, (family.wildcard,)) for family in FAMILIES}


def _message(project: str) -> AgentMessage:
    return AgentMessage(
        id=new_id(),
        project_id=project,
        conversation_id=new_id(),
        sender=Participant(ParticipantType.USER, new_id()),
        receiver=Participant(ParticipantType.AGENT, new_id()),
        content={"text": "hello"},
    )


async def test_publishers_send_each_subject_its_payload_type_on_its_stream() -> None:
    js = RecordingJetStream()
    project = new_id()
    message = _message(project)
    await NatsMailbox(js, partitions=8).post(message)  # type: ignore[arg-type]
    events = NatsConversationEvents(js)  # type: ignore[arg-type]
    for event in (
        ConversationEvent(
            EventType.STATUS, project, message.conversation_id, message.id, new_id(), status=MessageStatus.PROCESSING
        ),
        ConversationEvent(EventType.TOKEN, project, message.conversation_id, message.id, new_id(), text="Hi"),
        ConversationEvent(EventType.REPLY, project, message.conversation_id, message.id, new_id(), reply=message),
        ConversationEvent(EventType.ERROR, project, message.conversation_id, message.id, new_id(), error="failed"),
        ConversationEvent(EventType.RESET, project, message.conversation_id, message.id, new_id()),
    ):
        await events.publish(event, dedup_id=new_id())
    await NatsSystemEvents(js).publish(  # type: ignore[arg-type]
        SystemEvent(new_id(), SystemEventKind.TURN_FAILED, project, datetime.now(UTC), new_id(), message.id, "failed")
    )

    assert {family_of(subject) for subject, _, _ in js.published} == set(FAMILIES)
    for subject, payload, stream in js.published:
        family = family_of(subject)
        assert stream == family.stream, subject
        try:
            decoded = payload_class(family.payload).FromString(payload)
        except DecodeError:
            pytest.fail(f"{subject}: the payload is not a {family.payload}")
        assert len(unknown_fields.UnknownFieldSet(decoded)) == 0, f"{subject}: fields {family.payload} lacks"
        assert decoded.ListFields(), f"{subject}: empty {family.payload}"
