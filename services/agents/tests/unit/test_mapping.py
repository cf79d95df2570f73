"""Proto <-> domain: what the servicer decodes and what codec.py encodes for clients and the event log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentmesh.agents.v1 import agent_pb2, message_pb2
from agentmesh.common.v1 import participant_pb2
from agentmesh_agents import codec
from agentmesh_agents.domain.model_config import sampling_for
from agentmesh_agents.domain.models import (
    Agent,
    AgentStatus,
    ConversationEvent,
    EventType,
    Message,
    MessageStatus,
    Participant,
    ParticipantType,
)
from agentmesh_agents.domain.ports import StoredEvent
from agentmesh_agents.rpc import mapping
from agentmesh_core.errors import InvalidInput

NOW = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def _message(**fields) -> Message:
    base = dict(
        id="m1",
        project_id="p1",
        conversation_id="c1",
        sender=Participant(ParticipantType.USER, "u1"),
        receiver=Participant(ParticipantType.AGENT, "a1"),
        content={"text": "hi", "n": [1, 2.5, None, True]},
        status=MessageStatus.PROCESSING,
        correlation_id="corr",
        created_at=NOW,
        updated_at=NOW,
    )
    return Message(**{**base, **fields})


@pytest.mark.parametrize("content", ["plain", {"a": {"b": [1, "x"]}}, [1, 2], 3.5, True])
def test_message_proto(content):
    message = _message(content=content)
    proto = codec.message_proto(message)
    assert mapping.json_value(proto.content) == content
    assert (proto.id, proto.project_id, proto.conversation_id) == ("m1", "p1", "c1")
    assert proto.sender == participant_pb2.Participant(type=participant_pb2.PARTICIPANT_TYPE_USER, id="u1")
    assert proto.receiver.type == participant_pb2.PARTICIPANT_TYPE_AGENT
    assert proto.status == message_pb2.MESSAGE_STATUS_PROCESSING
    assert (proto.correlation_id, proto.parent_id, proto.idempotency_key) == ("corr", "", "")
    assert proto.create_time.ToDatetime(tzinfo=UTC) == NOW == proto.update_time.ToDatetime(tzinfo=UTC)


def test_agent_proto_and_draft():
    agent = Agent(
        id="a1",
        project_id="p1",
        name="helper",
        model_config={"temperature": 0.5, "max_tokens": 12},
        status=AgentStatus.PAUSED,
        topics=("t1",),
        created_at=NOW,
        updated_at=NOW,
    )
    proto = mapping.agent_proto(agent)
    assert proto.status == agent_pb2.AGENT_STATUS_PAUSED
    assert proto.create_time.ToDatetime(tzinfo=UTC) == NOW
    draft = mapping.agent_draft(proto)
    assert (draft.name, draft.status, draft.topics) == ("helper", AgentStatus.PAUSED, ("t1",))
    assert draft.model_config == {"temperature": 0.5, "max_tokens": 12.0}


def test_unspecified_status_means_active_on_create_only():
    assert mapping.agent_draft(agent_pb2.Agent(name="x")).status is AgentStatus.ACTIVE
    with pytest.raises(InvalidInput):
        mapping.agent_changes(agent_pb2.Agent(), ["status"])
    with pytest.raises(InvalidInput):
        mapping.agent_draft(agent_pb2.Agent(name="x", status=99))


def test_agent_changes_reads_masked_fields():
    proto = agent_pb2.Agent(name="n", purpose="p", topics=["a"], status=agent_pb2.AGENT_STATUS_ACTIVE)
    assert mapping.agent_changes(proto, ["purpose", "topics", "status"]) == {
        "purpose": "p",
        "topics": ("a",),
        "status": AgentStatus.ACTIVE,
    }
    with pytest.raises(InvalidInput):
        mapping.agent_changes(proto, ["create_time"])


def test_stored_event_is_relayed_with_its_sequence():
    event = ConversationEvent(
        type=EventType.REPLY,
        project_id="p1",
        conversation_id="c1",
        message_id="m1",
        agent_id="a1",
        reply=_message(id="r1", status=MessageStatus.COMPLETE),
        status=MessageStatus.COMPLETE,
        created_at=NOW,
    )
    response = mapping.event_response(StoredEvent(42, codec.encode_event(event)))
    assert response is not None
    expected = codec.event_proto(event)
    expected.sequence = 42
    assert response.event == expected
    assert response.event.type == message_pb2.CONVERSATION_EVENT_TYPE_REPLY
    assert response.event.status == message_pb2.MESSAGE_STATUS_COMPLETE
    assert response.event.reply.id == "r1" and response.event.create_time.ToDatetime(tzinfo=UTC) == NOW
    assert mapping.event_response(StoredEvent(43, b"\xff not a proto")) is None


def test_message_status_filter():
    assert mapping.message_status(0) is None
    assert mapping.message_status(message_pb2.MESSAGE_STATUS_ERROR) is MessageStatus.ERROR
    with pytest.raises(InvalidInput):
        mapping.message_status(77)


def test_sampling_from_model_config(world):
    sampling = sampling_for({"temperature": 0.1, "top_p": 0.9, "seed": 7, "stop": ["END"]}, world.limits)
    assert (sampling.temperature, sampling.top_p, sampling.seed, sampling.stop) == (0.1, 0.9, 7, ("END",))
    assert sampling.max_tokens == world.limits.default_max_tokens
    assert sampling_for({"max_tokens": 10}, world.limits).max_tokens == 10
