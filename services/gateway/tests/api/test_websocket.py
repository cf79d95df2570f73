"""WS /projects/{p}/ws: authentication, subscriptions, resume, sending, ping, revocation."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from agentmesh_gateway.schemas.messages import ConversationEventOut


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code, self.reason = code, reason


class Socket:
    """A WebSocket client speaking ASGI straight to the app (no server, no network)."""

    def __init__(self, app, path: str, query: str = "") -> None:
        self._app, self._path, self._query = app, path, query
        self._to_app: asyncio.Queue[dict] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Socket:
        scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
                 "path": self._path, "raw_path": self._path.encode(), "query_string": self._query.encode(),
                 "headers": [(b"host", b"gateway")], "subprotocols": [], "client": ("127.0.0.1", 50000),
                 "server": ("gateway", 80), "root_path": ""}  # fmt: skip
        await self._to_app.put({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._app(scope, self._to_app.get, self._from_app.put))
        accepted = await asyncio.wait_for(self._from_app.get(), 5)
        assert accepted["type"] == "websocket.accept", accepted
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        await asyncio.wait_for(self._task, 5)

    async def send(self, frame: Any) -> None:
        if isinstance(frame, bytes):
            await self._to_app.put({"type": "websocket.receive", "bytes": frame})
            return
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def receive(self, timeout: float = 5) -> dict:
        message = await asyncio.wait_for(self._from_app.get(), timeout)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000), message.get("reason", ""))
        return json.loads(message["text"])

    async def until(self, kind: str, timeout: float = 5) -> list[dict]:
        """Frames up to and including the first of this type."""
        frames = [await self.receive(timeout)]
        while frames[-1]["type"] != kind:
            frames.append(await self.receive(timeout))
        return frames


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"stream_access_recheck_seconds": 0.2})


@pytest.fixture
def app(api):
    return api._transport.app


@pytest.fixture
async def world(api, admin, make_user, state):
    """(project, member headers, member id, agent id, conversation id) with three stored events."""
    member_id, member = await make_user("member")
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    await api.post(f"/projects/{project}/members", headers=admin, json={"user_id": member_id, "role": "user"})
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()["id"]
    sent = await api.post(f"/projects/{project}/agents/{agent}/messages", headers=member, json={"content": "q"})
    conversation = sent.json()["conversation_id"]
    state.agents.events[conversation] = [
        ConversationEventOut(sequence=n, type="token", conversation_id=conversation, text=t)
        for n, t in ((1, "He"), (2, "ll"), (3, "o"))
    ]
    return project, member, member_id, agent, conversation


async def ticket(api, headers) -> str:
    return (await api.post("/auth/stream-ticket", headers=headers)).json()["ticket"]


async def test_ticket_subscribe_resume_and_unsubscribe(app, api, world) -> None:
    project, member, _, _, conversation = world
    async with Socket(app, f"/projects/{project}/ws", f"ticket={await ticket(api, member)}") as ws:
        assert (await ws.receive())["type"] == "ready"
        await ws.send({"type": "subscribe", "conversation_id": conversation, "after": 1})
        frames = [await ws.receive() for _ in range(3)]
        assert frames[0] == {"type": "subscribed", "conversation_id": conversation}
        assert [(f["event"]["sequence"], f["event"]["text"]) for f in frames[1:]] == [(2, "ll"), (3, "o")]
        assert all(f["type"] == "event" and f["conversation_id"] == conversation for f in frames[1:])
        await ws.send({"type": "unsubscribe", "conversation_id": conversation})
        assert (await ws.receive())["type"] == "unsubscribed"
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


async def test_first_frame_auth_with_a_token_and_send(app, api, world, state) -> None:
    project, member, _, agent, _ = world
    token = member["Authorization"].removeprefix("Bearer ")
    async with Socket(app, f"/projects/{project}/ws") as ws:
        await ws.send({"type": "auth", "token": token})
        assert (await ws.receive())["type"] == "ready"
        await ws.send({"type": "send", "agent_id": agent, "content": "hi", "subscribe": True, "request_id": "r1"})
        frames = await ws.until("sent")
        sent = frames[-1]
        assert sent["request_id"] == "r1" and sent["status"] == "queued"
        assert {"type": "subscribed", "conversation_id": sent["conversation_id"]} in frames
    assert state.agents.messages[-1].content == "hi"


@pytest.mark.parametrize(
    "frame, code",
    [
        ("not json", "invalid_argument"),
        (b"\x00binary", "invalid_argument"),
        ("x" * (256 * 1024 + 1), "invalid_argument"),
        ([1, 2], "invalid_argument"),
        ({"type": "dance"}, "invalid_argument"),
        ({"type": "subscribe", "conversation_id": "nope"}, "invalid_argument"),
        ({"type": "subscribe", "conversation_id": "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1"}, "not_found"),
        ({"type": "subscribe", "conversation_id": "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1", "after": -1},
         "invalid_argument"),
        ({"type": "subscribe", "conversation_id": "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1", "after": True},
         "invalid_argument"),
        ({"type": "send", "agent_id": "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1", "content": "x"}, "not_found"),
        ({"type": "send", "agent_id": "x"}, "invalid_argument"),
        ({"type": "send", "agent_id": "x", "content": "a\x00b"}, "invalid_argument"),
    ],
)  # fmt: skip
async def test_bad_frames_are_answered_and_the_session_goes_on(app, api, world, frame, code) -> None:
    project, member, *_ = world
    async with Socket(app, f"/projects/{project}/ws", f"ticket={await ticket(api, member)}") as ws:
        await ws.receive()
        await ws.send(frame)
        error = await ws.receive()
        assert error["type"] == "error" and error["code"] == code, error
        await ws.send({"type": "ping"})
        assert (await ws.receive())["type"] == "pong"


@pytest.mark.parametrize(
    "query, first_frame",
    [("ticket=bogus", None), ("", {"type": "ping"}), ("", {"type": "auth"}), ("", {"type": "auth", "token": "x.y.z"}),
     ("", "not json")],
)  # fmt: skip
async def test_unauthenticated_sockets_close_4401(app, world, query, first_frame) -> None:
    project = world[0]
    async with Socket(app, f"/projects/{project}/ws", query) as ws:
        if first_frame is not None:
            await ws.send(first_frame)
        with pytest.raises(Closed) as closed:
            await ws.receive()
    assert closed.value.code == 4401


async def test_non_members_and_unknown_projects_close_4404(app, api, world, make_user) -> None:
    _, stranger = await make_user("stranger")
    for project in (world[0], "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1", "nope"):
        async with Socket(app, f"/projects/{project}/ws", f"ticket={await ticket(api, stranger)}") as ws:
            with pytest.raises(Closed) as closed:
                await ws.receive()
        assert closed.value.code == 4404


async def test_removing_the_member_closes_the_socket_within_seconds(app, api, admin, world) -> None:
    project, member, member_id, _, conversation = world
    async with Socket(app, f"/projects/{project}/ws", f"ticket={await ticket(api, member)}") as ws:
        await ws.receive()
        await ws.send({"type": "subscribe", "conversation_id": conversation, "after": 3})
        assert (await ws.receive())["type"] == "subscribed"
        started = time.monotonic()
        assert (await api.delete(f"/projects/{project}/members/{member_id}", headers=admin)).status_code == 204
        error = await ws.receive()
        assert error == {"type": "error", "code": "access_revoked", "message": "access to this project was revoked"}
        with pytest.raises(Closed) as closed:
            await ws.receive()
        assert closed.value.code == 4403
        assert time.monotonic() - started < 5


async def test_with_the_default_re_check_the_socket_closes_within_5_seconds(app, api, admin, world, state) -> None:
    project, member, member_id, _, _ = world
    state.settings = state.settings.model_copy(update={"stream_access_recheck_seconds": 2.0})
    async with Socket(app, f"/projects/{project}/ws", f"ticket={await ticket(api, member)}") as ws:
        await ws.receive()
        started = time.monotonic()
        assert (await api.delete(f"/projects/{project}/members/{member_id}", headers=admin)).status_code == 204
        assert (await ws.receive(timeout=5))["code"] == "access_revoked"
        with pytest.raises(Closed):
            await ws.receive()
        assert time.monotonic() - started < 5


async def test_a_reset_event_is_relayed_like_any_other(app, api, world, state) -> None:
    project, member, _, _, conversation = world
    state.agents.events[conversation].append(
        ConversationEventOut(sequence=4, type="reset", conversation_id=conversation, message_id="m")
    )
    async with Socket(app, f"/projects/{project}/ws", f"ticket={await ticket(api, member)}") as ws:
        assert (await ws.receive())["type"] == "ready"
        await ws.send({"type": "subscribe", "conversation_id": conversation, "after": 3})
        frames = [await ws.receive() for _ in range(2)]
    assert frames[1]["event"]["type"] == "reset" and frames[1]["event"]["message_id"] == "m"
