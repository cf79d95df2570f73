"""Browser access: CORS, stream tickets, and open streams that end when access ends."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_gateway.adapters.ticket_tables import stream_tickets
from agentmesh_gateway.schemas.messages import ConversationEventOut

ORIGIN = "http://app.example"


@pytest.fixture
def settings(settings):
    """The shared settings with a browser origin and a fast access re-check."""
    return settings.model_copy(update={"cors_allowed_origins": [ORIGIN], "stream_access_recheck_seconds": 0.2})


@pytest.fixture
async def project(api, admin, make_user):
    """(project id, member headers, member id, events path) with one conversation and a token event."""
    member_id, member = await make_user("member")
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    added = await api.post(f"/projects/{project}/members", headers=admin, json={"user_id": member_id, "role": "user"})
    assert added.status_code in (200, 201), added.text
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()["id"]
    sent = await api.post(f"/projects/{project}/agents/{agent}/messages", headers=member, json={"content": "q"})
    conversation_id = sent.json()["conversation_id"]
    return project, member, member_id, f"/projects/{project}/conversations/{conversation_id}/events", conversation_id


async def ticket_for(api, headers) -> str:
    response = await api.post("/auth/stream-ticket", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == 60 and len(body["ticket"]) >= 40
    return body["ticket"]


async def read_sse_frames(response, until: str) -> list[dict[str, str]]:
    """SSE frames up to the first `until` event."""
    frames: list[dict[str, str]] = []
    frame: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line and not line.startswith(":"):
            key, _, value = line.partition(": ")
            frame[key] = value
        elif not line and frame:
            frames.append(frame)
            frame = {}
            if frames[-1].get("event") == until:
                break
    return frames


# CORS


async def test_a_preflight_from_an_allowed_origin_is_answered(api) -> None:
    response = await api.options(
        "/auth/login",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, authorization"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["access-control-max-age"] == "600"


async def test_other_origins_get_no_cors_headers(api) -> None:
    response = await api.options(
        "/auth/login", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    plain = await api.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in plain.headers
    allowed = await api.get("/healthz", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()


# tickets


async def test_a_ticket_opens_the_event_stream_once(api, project, state) -> None:
    _, member, _, path, conversation_id = project
    state.agents.events[conversation_id] = [
        ConversationEventOut(sequence=1, type="token", conversation_id=conversation_id, text="Hi")
    ]
    ticket = await ticket_for(api, member)
    async with api.stream("GET", path, params={"ticket": ticket}) as response:
        assert response.status_code == 200
        frames = await read_sse_frames(response, until="token")
    assert json.loads(frames[-1]["data"])["text"] == "Hi"
    again = await api.get(path, params={"ticket": ticket})
    assert again.status_code == 401 and again.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("ticket", ["", "x" * 129, "not-a-ticket", "é" * 20])
async def test_bad_tickets_are_401(api, project, ticket) -> None:
    response = await api.get(project[3], params={"ticket": ticket})
    assert response.status_code in (401, 422), response.text
    assert response.json()["error"]["code"] in ("unauthenticated", "invalid_argument")


async def test_a_ticket_needs_a_bearer_token_and_is_not_one(api, project) -> None:
    project_id, member, *_ = project
    assert (await api.post("/auth/stream-ticket")).status_code == 401
    ticket = await ticket_for(api, member)
    as_token = await api.post("/auth/stream-ticket", headers={"Authorization": f"Bearer {ticket}"})
    assert as_token.status_code == 401
    # A ticket opens streams only: the REST routes still want the bearer token.
    assert (await api.get(f"/projects/{project_id}", params={"ticket": ticket})).status_code == 401


async def test_an_expired_ticket_is_refused(api, project, state) -> None:
    _, member, _, path, _ = project
    ticket = await ticket_for(api, member)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await state.database.run(lambda s: s.execute(stream_tickets.update().values(expires_at=past)))
    assert (await api.get(path, params={"ticket": ticket})).status_code == 401


async def test_a_ticket_of_an_ended_session_is_refused(api, project) -> None:
    _, member, _, path, _ = project
    ticket = await ticket_for(api, member)
    assert (await api.post("/auth/logout", headers=member)).status_code == 204
    assert (await api.get(path, params={"ticket": ticket})).status_code == 401


async def test_a_non_member_ticket_gets_404(api, project, make_user) -> None:
    _, stranger = await make_user("stranger")
    response = await api.get(project[3], params={"ticket": await ticket_for(api, stranger)})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_a_ticket_is_one_stream_even_when_two_race(api, project) -> None:
    _, member, _, path, _ = project
    ticket = await ticket_for(api, member)
    statuses: list[int] = []

    async def open_once() -> None:
        async with api.stream("GET", path, params={"ticket": ticket}) as response:
            statuses.append(response.status_code)

    await asyncio.gather(open_once(), open_once())
    assert sorted(statuses) == [200, 401]


# access re-checked on open streams


async def _ends_within(api, path, params, change) -> float:
    async with api.stream("GET", path, params=params) as response:
        assert response.status_code == 200
        started = time.monotonic()
        await change()
        frames = await asyncio.wait_for(read_sse_frames(response, until="error"), 5)
    data = json.loads(frames[-1]["data"])
    assert data["code"] == "access_revoked", data
    return time.monotonic() - started


async def test_removing_a_member_ends_their_open_stream(api, admin, project) -> None:
    project_id, member, member_id, path, _ = project

    async def remove() -> None:
        assert (await api.delete(f"/projects/{project_id}/members/{member_id}", headers=admin)).status_code == 204

    assert await _ends_within(api, path, {"ticket": await ticket_for(api, member)}, remove) < 5


async def test_deactivating_a_user_ends_their_open_stream(api, admin, project) -> None:
    _, member, member_id, path, _ = project

    async def deactivate() -> None:
        assert (await api.patch(f"/users/{member_id}", headers=admin, json={"is_active": False})).status_code == 200

    assert await _ends_within(api, path, {"ticket": await ticket_for(api, member)}, deactivate) < 5


async def test_logging_out_ends_a_bearer_stream(api, project) -> None:
    _, member, _, path, _ = project
    async with api.stream("GET", path, headers=member) as response:
        assert response.status_code == 200
        assert (await api.post("/auth/logout", headers=member)).status_code == 204
        frames = await asyncio.wait_for(read_sse_frames(response, until="error"), 5)
    assert json.loads(frames[-1]["data"])["code"] == "access_revoked"


async def test_a_superadmin_demoted_out_of_a_project_loses_its_stream(api, admin, project, make_user, login) -> None:
    _, _, _, path, _ = project
    boss_id, _ = await make_user("boss")
    promoted = await api.patch(f"/users/{boss_id}", headers=admin, json={"role": "superadmin"})
    assert promoted.status_code == 200, promoted.text
    boss = await login("boss", "password-123")

    async def demote() -> None:
        assert (await api.patch(f"/users/{boss_id}", headers=admin, json={"role": "user"})).status_code == 200

    assert await _ends_within(api, path, {"ticket": await ticket_for(api, boss)}, demote) < 5


async def test_with_the_default_re_check_a_removed_member_is_cut_within_5_seconds(api, admin, project, state) -> None:
    project_id, member, member_id, path, _ = project
    state.settings = state.settings.model_copy(update={"stream_access_recheck_seconds": 2.0})

    async def remove() -> None:
        assert (await api.delete(f"/projects/{project_id}/members/{member_id}", headers=admin)).status_code == 204

    assert await _ends_within(api, path, {"ticket": await ticket_for(api, member)}, remove) < 5
