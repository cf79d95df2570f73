"""A RECALL_SKIPPED conversation event reaches clients as `recall_skipped` with its reason in `text`."""

from __future__ import annotations

from agentmesh.agents.v1 import message_pb2
from agentmesh_gateway.clients.agents import event_out


def test_recall_skipped_carries_why() -> None:
    event = message_pb2.ConversationEvent(
        sequence=3,
        type=message_pb2.CONVERSATION_EVENT_TYPE_RECALL_SKIPPED,
        message_id="m1",
        agent_id="a1",
        text="deadline_exceeded",
    )
    out = event_out(event)
    assert (out.type, out.text, out.message_id) == ("recall_skipped", "deadline_exceeded", "m1")
    assert out.reply is None and out.status is None and out.error is None
