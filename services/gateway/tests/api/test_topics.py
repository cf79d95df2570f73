"""POST /projects/{p}/topics/{topic}/messages: the fan-out, idempotency, bad input and access."""

from __future__ import annotations

import pytest

from agentmesh_gateway.schemas import limits


def _deep(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"k": value}
    return value


DEEP = _deep(40)  # deeper than the free-form JSON rule allows


@pytest.fixture
async def world(api, admin, make_user):
    member_id, member = await make_user("member")
    _, outsider = await make_user("outsider")
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    added = await api.post(f"/projects/{project}/members", headers=admin, json={"user_id": member_id, "role": "user"})
    assert added.status_code == 201, added.text
    agents = {}
    for name, topics in (("data", ["daily_report_2026-01-01"]), ("analysis", ["daily_report_2026-01-01"]),
                         ("other", ["news"])):  # fmt: skip
        created = await api.post(f"/projects/{project}/agents", headers=admin, json={"name": name, "topics": topics})
        assert created.status_code == 201, created.text
        agents[name] = created.json()["id"]
    return {"project": project, "agents": agents, "admin": admin, "member": member, "outsider": outsider}


def _path(project: str, topic: str = "daily_report_2026-01-01") -> str:
    return f"/projects/{project}/topics/{topic}/messages"


async def test_a_member_publishes_to_every_subscriber(api, world, state) -> None:
    response = await api.post(_path(world["project"]), headers=world["member"], json={"content": "your part, please"})

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["topic"] == "daily_report_2026-01-01"
    assert sorted(d["agent_id"] for d in body["deliveries"]) == sorted([world["agents"]["data"],
                                                                         world["agents"]["analysis"]])  # fmt: skip
    assert body["message_ids"] == [d["message_id"] for d in body["deliveries"]]
    assert all(d["status"] == "queued" and d["conversation_id"] for d in body["deliveries"])
    sent = {m.id: m for m in state.agents.messages}
    assert all(sent[i].content == "your part, please" for i in body["message_ids"])


async def test_a_topic_without_subscribers_is_accepted_with_no_deliveries(api, world) -> None:
    response = await api.post(_path(world["project"], "nobody.listens"), headers=world["admin"], json={"content": "x"})
    assert response.status_code == 202, response.text
    assert response.json() == {"topic": "nobody.listens", "message_ids": [], "deliveries": []}


async def test_a_retried_publish_returns_the_first_messages(api, world, state) -> None:
    body = {"content": {"report": "daily"}, "idempotency_key": "run-2026-01-01"}
    first = await api.post(_path(world["project"]), headers=world["admin"], json=body)
    again = await api.post(_path(world["project"]), headers=world["admin"], json=body)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and len(first.json()["message_ids"]) == 2
    assert len(state.agents.messages) == 2


@pytest.mark.parametrize(
    "topic", ["-leading", "has%20space", "a%2Fb", "x" * (limits.TOPIC_MAX_LENGTH + 1), "dot*star", "%C3%BC", "%00"]
)
async def test_invalid_topic_names_are_a_json_422(api, world, state, topic: str) -> None:
    response = await api.post(_path(world["project"], topic), headers=world["admin"], json={"content": "x"})
    assert response.status_code in (404, 422), response.text  # a%2Fb may not match the route at all
    assert set(response.json()["error"]) == {"code", "message"}
    assert state.agents.messages == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content": None},
        {"content": 5},
        {"content": "x", "idempotency_key": ""},
        {"content": "x", "idempotency_key": "k" * (limits.IDEMPOTENCY_KEY_MAX_LENGTH + 1)},
        {"content": "x", "idempotency_key": 7},
        {"content": "x", "idempotency_key": "nul\u0000"},
        {"content": "x", "unknown": 1},
        {"content": DEEP},
    ],
)
async def test_bad_bodies_are_a_json_4xx_and_deliver_nothing(api, world, state, body: dict) -> None:
    response = await api.post(_path(world["project"]), headers=world["admin"], json=body)
    assert 400 <= response.status_code < 500, (body, response.text)
    assert set(response.json()["error"]) == {"code", "message"}
    assert state.agents.messages == []


async def test_malformed_and_oversize_bodies_are_refused(api, world, state, settings) -> None:
    headers = {**world["admin"], "content-type": "application/json"}
    malformed = await api.post(_path(world["project"]), headers=headers, content=b"{not json")
    assert malformed.status_code == 422 and malformed.json()["error"]["code"]
    huge = b'{"content":"' + b"x" * settings.max_body_bytes + b'"}'
    oversize = await api.post(_path(world["project"]), headers=headers, content=huge)
    assert oversize.status_code == 413 and oversize.json()["error"]["code"]
    assert state.agents.messages == []


async def test_non_members_get_404_and_anonymous_callers_401(api, world, state) -> None:
    outsider = await api.post(_path(world["project"]), headers=world["outsider"], json={"content": "x"})
    assert outsider.status_code == 404 and outsider.json()["error"]["code"] == "not_found"
    anonymous = await api.post(_path(world["project"]), json={"content": "x"})
    assert anonymous.status_code == 401
    forged = await api.post(_path(world["project"]), headers={"Authorization": "Bearer x.y.z"}, json={"content": "x"})
    assert forged.status_code == 401
    assert (await api.post(_path("not-a-project"), headers=world["admin"], json={"content": "x"})).status_code == 404
    assert state.agents.messages == []
