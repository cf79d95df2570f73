"""Topics over REST only, on the real mesh, with scripted LLMs: the daily report's topic variant.

A manager agent, asked for the daily report, publishes to `daily_report_<date>`
with the publish_to_topic tool; the data and analysis agents subscribed to it
each get one message and answer it. A REST publish retried with its
idempotency key delivers once.

The agents are scripted through their system prompts (an `agentmesh-script:`
line; the e2e mesh runs with AGENTMESH_PROMPT_SCRIPTS, adapters/prompt_scripts.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import httpx
import pytest

from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

TOPIC = f"daily_report_{date.today().isoformat()}"
ANSWERS = {"data": "data: 42 orders today", "analysis": "analysis: orders are up 5%"}
TEAM_ASKED = "asked the team for their parts"
PUBLISH = json.dumps({"tool": "publish_to_topic", "arguments": {"topic": TOPIC, "content": "your part of the report"}})
# What each agent's model says, in order (the manager: a tool step, then its final answer).
SCRIPTS = {"manager": [PUBLISH, json.dumps({"final": TEAM_ASKED})], "data": [ANSWERS["data"]],
           "analysis": [ANSWERS["analysis"]]}  # fmt: skip


def _scripted(role: str) -> str:
    return f"You are the {role} of the daily report team.\nagentmesh-script: {json.dumps(SCRIPTS[role])}"


@pytest.fixture(scope="module")
def project(api: httpx.Client, admin: dict[str, str]) -> str:
    response = api.post("/projects", headers=admin, json={"name": f"e2e-topics-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _agent(api: httpx.Client, admin: dict[str, str], project: str, role: str, topics: list[str]) -> str:
    body = {"name": role, "system_prompt": _scripted(role), "topics": topics,
            "model_config": {"temperature": 0.0, "max_tokens": 64, "max_steps": 4}}  # fmt: skip
    created = api.post(f"/projects/{project}/agents", headers=admin, json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _log(api: httpx.Client, admin: dict[str, str], project: str, **params) -> list[dict]:
    response = api.get(f"/projects/{project}/messages", headers=admin, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_manager_publishes_the_daily_report_topic_and_both_subscribers_answer(
    api: httpx.Client, admin: dict[str, str], project: str, sse
) -> None:
    manager = _agent(api, admin, project, "manager", [TOPIC])  # subscribed too: left out of its own publish
    data = _agent(api, admin, project, "data", [TOPIC])
    analysis = _agent(api, admin, project, "analysis", [TOPIC, "news"])
    granted = api.put(f"/projects/{project}/agents/{manager}/tools", headers=admin, json=[{"name": "publish_to_topic"}])
    assert granted.status_code == 200, granted.text

    sent = api.post(f"/projects/{project}/agents/{manager}/messages", headers=admin,
                    json={"content": "Prepare today's report."})  # fmt: skip
    assert sent.status_code == 202, sent.text
    request = sent.json()
    events = sse(api, f"/projects/{project}/conversations/{request['conversation_id']}/events", admin, until="reply")
    assert events[-1].data["reply"]["content"] == TEAM_ASKED
    [result] = [e.data for e in events if e.event == "tool_result"]
    assert result["tool_call"]["tool"] == "publish_to_topic" and result["tool_call"]["outcome"] == "allowed"
    assert result["text"].startswith(f"sent to 2 subscriber(s) of '{TOPIC}'")

    def delivered() -> list[dict]:
        found = [m for m in _log(api, admin, project) if m["sender"] == {"type": "agent", "id": manager}
                 and m["performative"] == "request"]  # fmt: skip
        return found if len(found) == 2 and all(m["status"] == "complete" for m in found) else []

    messages = eventually_sync(delivered, timeout=180, what="both subscribers to answer the publish")
    assert sorted(m["receiver"]["id"] for m in messages) == sorted([data, analysis])
    for message in messages:
        # The fan-out hangs under the manager's request, tied to its tree by the correlation id.
        assert message["parent_id"] == request["message_id"]
        assert message["correlation_id"] == request["message_id"]
        assert message["content"] == "your part of the report"
    answers = {}
    for message in messages:
        [reply] = [m for m in _log(api, admin, project, conversation_id=message["conversation_id"])
                   if m["performative"] == "reply"]  # fmt: skip
        assert reply["parent_id"] == message["id"] and reply["receiver"] == {"type": "agent", "id": manager}
        answers[message["receiver"]["id"]] = reply["content"]
    assert answers == {data: ANSWERS["data"], analysis: ANSWERS["analysis"]}
    # The manager, subscribed itself, got no request from its own publish (only the answers).
    assert [m for m in _log(api, admin, project, agent_id=manager) if m["receiver"]["id"] == manager
            and m["performative"] == "request" and m["sender"]["type"] == "agent"] == []  # fmt: skip
    # The user's stream shows the fan-out (delegated, before the tool's result) and both answers.
    path = f"/projects/{project}/conversations/{request['conversation_id']}/events"
    stream = list(events)
    while sum(e.event == "delegation_reply" for e in stream) < 2:
        stream += sse(api, path, {**admin, "Last-Event-ID": stream[-1].id}, until="delegation_reply")
    kinds = [e.event for e in stream]
    assert kinds.index("tool_result") > max(i for i, kind in enumerate(kinds) if kind == "delegated")
    sent_to = sorted(e.data["delegation"]["receiver"]["id"] for e in stream if e.event == "delegated")
    assert sent_to == sorted([data, analysis])
    told = {e.data["delegation"]["receiver"]["id"]: e.data["text"] for e in stream if e.event == "delegation_reply"}
    assert told == {data: ANSWERS["data"], analysis: ANSWERS["analysis"]}


def test_a_rest_publish_retried_with_its_key_delivers_once(
    api: httpx.Client, admin: dict[str, str], project: str
) -> None:
    topic = f"retry-{uuid.uuid4().hex[:6]}"
    body = {"name": f"data-{topic}", "system_prompt": _scripted("data"), "topics": [topic],
            "model_config": {"max_tokens": 64}}  # fmt: skip
    created = api.post(f"/projects/{project}/agents", headers=admin, json=body)
    assert created.status_code == 201, created.text
    subscriber = created.json()["id"]
    path = f"/projects/{project}/topics/{topic}/messages"
    publish = {"content": "numbers, please", "idempotency_key": f"report-{topic}"}

    answers = [api.post(path, headers=admin, json=publish) for _ in range(3)]

    assert [a.status_code for a in answers] == [202] * 3, [a.text for a in answers]
    # The same deliveries each time (their status moves on as the subscriber answers).
    seen = [[(d["message_id"], d["agent_id"], d["conversation_id"]) for d in a.json()["deliveries"]] for a in answers]
    assert seen[0] == seen[1] == seen[2]
    [delivery] = answers[0].json()["deliveries"]
    assert delivery["agent_id"] == subscriber

    def answered() -> list[dict]:
        log = _log(api, admin, project, conversation_id=delivery["conversation_id"])
        return log if any(m["performative"] == "reply" for m in log) else []

    log = eventually_sync(answered, timeout=120, what="the subscriber to answer")
    assert sorted(m["performative"] for m in log) == ["reply", "request"]
    received = [m for m in _log(api, admin, project, agent_id=subscriber) if m["receiver"]["id"] == subscriber]
    assert [m["id"] for m in received] == [delivery["message_id"]]
    nobody = api.post(f"/projects/{project}/topics/nobody-{topic}/messages", headers=admin, json={"content": "x"})
    assert nobody.status_code == 202 and nobody.json()["message_ids"] == []


def test_topic_publishes_keep_to_members_and_valid_input(
    api: httpx.Client, admin: dict[str, str], project: str, login_as
) -> None:
    username = f"outsider_{uuid.uuid4().hex[:6]}"
    made = api.post("/users", headers=admin, json={"username": username, "password": "password-123"})
    assert made.status_code == 201, made.text
    outsider = login_as(username, "password-123")
    path = f"/projects/{project}/topics/{TOPIC}/messages"
    refused = api.post(path, headers=outsider, json={"content": "let me in"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    for name in ("bad topic", "-x", "x" * 65):
        bad = api.post(f"/projects/{project}/topics/{name}/messages", headers=admin, json={"content": "x"})
        assert 400 <= bad.status_code < 500 and bad.json()["error"]["message"], (name, bad.text)
    over_cap = api.post(path, headers=admin, json={"content": "x" * (32 * 1024 + 1)})
    assert over_cap.status_code == 400 and "content" in over_cap.json()["error"]["message"]
    assert [m for m in _log(api, admin, project) if m["content"] in ("let me in", "x" * (32 * 1024 + 1))] == []
