"""The conversation as Server-Sent Events: framing, resume, keep-alive, disconnect."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from agentmesh.agents.v1 import message_pb2
from agentmesh_core.errors import Unavailable
from agentmesh_devstack.waiting import eventually
from agentmesh_gateway.clients.agents import event_out
from agentmesh_gateway.routers import conversations
from agentmesh_gateway.schemas.messages import ConversationEventOut, MessageOut, Participant


@pytest.fixture
async def conversation(api, admin, state) -> tuple[str, str]:
    """(events path, conversation id) of a conversation with a token, token, reply history."""
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()["id"]
    sent = await api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": "q"})
    conversation_id = sent.json()["conversation_id"]
    reply = MessageOut(
        id=str(uuid.uuid4()), project_id=project, conversation_id=conversation_id,
        sender=Participant(type="agent", id=agent), receiver=Participant(type="user", id="u"), content="Hello",
        performative="inform", status="complete", error=None, parent_id=sent.json()["message_id"],
        correlation_id=None, created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
    )  # fmt: skip
    state.agents.events[conversation_id] = [
        ConversationEventOut(sequence=7, type="token", conversation_id=conversation_id, text="Hel"),
        ConversationEventOut(sequence=8, type="token", conversation_id=conversation_id, text="lo"),
        ConversationEventOut(sequence=9, type="reply", conversation_id=conversation_id, reply=reply),
    ]
    return f"/projects/{project}/conversations/{conversation_id}/events", conversation_id


async def read_frames(response, until: str = "reply") -> tuple[list[dict[str, str]], list[str]]:
    """SSE frames up to the first `until` event, and the comment lines seen."""
    frames: list[dict[str, str]] = []
    comments: list[str] = []
    frame: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            comments.append(line)
        elif line:
            key, _, value = line.partition(": ")
            frame[key] = value
        elif frame:
            frames.append(frame)
            frame = {}
            if frames[-1].get("event") == until:
                break
    return frames, comments


async def test_frames_carry_sequence_type_and_json(api, admin, conversation) -> None:
    path, _ = conversation
    async with api.stream("GET", path, headers=admin) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        frames, _ = await read_frames(response)
    assert frames[0] == {"retry": "2000"}
    assert [(f["id"], f["event"]) for f in frames[1:]] == [("7", "token"), ("8", "token"), ("9", "reply")]
    assert json.loads(frames[1]["data"])["text"] == "Hel"
    reply = json.loads(frames[3]["data"])["reply"]
    assert reply["content"] == "Hello" and reply["sender"]["type"] == "agent" and reply["status"] == "complete"


async def test_last_event_id_resumes_and_after_wins(api, admin, state, conversation) -> None:
    path, conversation_id = conversation
    async with api.stream("GET", path, headers={**admin, "Last-Event-ID": "7"}) as response:
        frames, _ = await read_frames(response)
    assert [f["id"] for f in frames[1:]] == ["8", "9"]
    async with api.stream("GET", path, headers={**admin, "Last-Event-ID": "7"}, params={"after": 8}) as response:
        frames, _ = await read_frames(response)
    assert [f["id"] for f in frames[1:]] == ["9"]
    assert state.agents.stream_requests == [(conversation_id, 7), (conversation_id, 8)]


async def test_quiet_streams_get_keep_alive_comments(api, admin, conversation, monkeypatch) -> None:
    monkeypatch.setattr(conversations, "KEEPALIVE_SECONDS", 0.05)
    path, _ = conversation
    async with api.stream("GET", path, headers={**admin, "Last-Event-ID": "9"}) as response:
        comments: list[str] = []
        async for line in response.aiter_lines():
            if line.startswith(":"):
                comments.append(line)
                if len(comments) == 2:
                    break
    assert comments == [": keep-alive", ": keep-alive"]


async def test_client_disconnect_closes_the_upstream_stream(api, admin, state, conversation) -> None:
    path, _ = conversation
    async with api.stream("GET", path, headers=admin) as response:
        await read_frames(response)
        assert state.agents.open_streams == 1
    await eventually(lambda: state.agents.open_streams == 0, timeout=1, interval=0.01, what="the upstream to close")


async def test_an_upstream_failure_ends_the_stream_with_an_error_frame(api, admin, state, conversation) -> None:
    state.agents.fail_streams_with = Unavailable("agents service unavailable")
    path, _ = conversation
    async with api.stream("GET", path, headers=admin) as response:
        frames, _ = await read_frames(response, until="error")
    assert frames[-1]["event"] == "error" and "id" not in frames[-1]  # a reconnect resumes after event 9
    assert json.loads(frames[-1]["data"])["type"] == "error"


async def test_unknown_conversation_and_bad_resume_points_are_4xx(api, admin, conversation) -> None:
    path, conversation_id = conversation
    unknown = path.replace(conversation_id, str(uuid.uuid4()))
    missing = await api.get(unknown, headers=admin)  # refused by the stream itself, before it starts
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await api.get(path.replace(conversation_id, "nope"), headers=admin)).status_code == 404
    bad = await api.get(path, headers={**admin, "Last-Event-ID": "abc"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_argument"
    assert (await api.get(path, headers=admin, params={"after": -1})).status_code == 422


def test_a_reset_event_is_mapped_with_its_message_and_nothing_else() -> None:
    reset = event_out(
        message_pb2.ConversationEvent(
            sequence=5, type=message_pb2.CONVERSATION_EVENT_TYPE_RESET, conversation_id="c", message_id="m"
        )
    )
    assert (reset.type, reset.message_id, reset.sequence) == ("reset", "m", 5)
    assert (reset.text, reset.reply, reset.status, reset.error) == (None, None, None, None)


async def test_a_reset_reaches_the_client_between_the_dropped_and_the_retried_tokens(api, admin, state, conversation):
    path, conversation_id = conversation
    reply = state.agents.events[conversation_id][-1]
    state.agents.events[conversation_id] = [
        ConversationEventOut(sequence=7, type="token", conversation_id=conversation_id, message_id="m", text="Hel"),
        ConversationEventOut(sequence=8, type="reset", conversation_id=conversation_id, message_id="m"),
        ConversationEventOut(sequence=9, type="token", conversation_id=conversation_id, message_id="m", text="Hello"),
        reply.model_copy(update={"sequence": 10}),
    ]
    async with api.stream("GET", path, headers=admin) as response:
        frames, _ = await read_frames(response)
    assert [(f["id"], f["event"]) for f in frames[1:]] == [
        ("7", "token"),
        ("8", "reset"),
        ("9", "token"),
        ("10", "reply"),
    ]
    assert json.loads(frames[2]["data"])["message_id"] == "m"
