"""Agents that cooperate, over REST only on the real mesh: the daily-report team, and cancellation.

The agents are scripted through their system prompts (an `agentmesh-script:` line;
the e2e mesh runs with AGENTMESH_PROMPT_SCRIPTS, adapters/prompt_scripts.py): the
manager asks the data and the analysis agents with send_message_to_agent, both in
flight at once, and composes the report from their replies. The user's
conversation stream shows the delegations, their replies and the final reply;
the message log holds the whole tree, tied by the root's correlation id.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

DELEGATE = "send_message_to_agent"


def _ask(agent: str, content: str = "today") -> str:
    return json.dumps({"tool": DELEGATE, "arguments": {"agent": agent, "content": content, "wait_for_reply": True}})


def _scripted(*outputs: str) -> str:
    return f"You are part of the daily report team.\nagentmesh-script: {json.dumps(list(outputs))}"


@pytest.fixture(scope="module")
def project(api: httpx.Client, admin: dict[str, str]) -> str:
    response = api.post("/projects", headers=admin, json={"name": f"e2e-cooperation-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _agent(api: httpx.Client, admin: dict[str, str], project: str, name: str, prompt: str, **fields) -> str:
    created = api.post(f"/projects/{project}/agents", headers=admin, json={"name": name, "system_prompt": prompt,
                                                                          **fields})  # fmt: skip
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _grant(api: httpx.Client, admin: dict[str, str], project: str, agent: str) -> None:
    granted = api.put(f"/projects/{project}/agents/{agent}/tools", headers=admin, json=[{"name": DELEGATE}])
    assert granted.status_code == 200, granted.text


def _message(api: httpx.Client, admin: dict[str, str], project: str, message_id: str) -> dict | None:
    log = api.get(f"/projects/{project}/messages", headers=admin, params={"limit": 200}).json()["items"]
    return next((m for m in log if m["id"] == message_id), None)


def _events_until_reply_to(api, sse, path: str, headers: dict[str, str], message_id: str) -> list:
    """The stream's events up to the reply to `message_id` (other requests' replies come first)."""
    events: list = []
    while not events or events[-1].event != "reply" or events[-1].data["message_id"] != message_id:
        resume = {"Last-Event-ID": events[-1].id} if events else {}
        events += sse(api, path, {**headers, **resume}, until="reply")
    return events


def test_the_daily_report_team_over_rest(api: httpx.Client, admin: dict[str, str], project: str, sse) -> None:
    report = json.dumps({"final": "report: {{observations}}"})
    manager = _agent(api, admin, project, "manager", _scripted(_ask("data"), _ask("analysis"), report))
    # Data starts paused: the manager must have asked both (fan-out) while data's answer is still missing.
    data = _agent(api, admin, project, "data", _scripted("data: 42 orders today"), status="paused")
    analysis = _agent(api, admin, project, "analysis", _scripted("analysis: orders are up 5%"))
    _grant(api, admin, project, manager)

    sent = api.post(f"/projects/{project}/agents/{manager}/messages", headers=admin,
                    json={"content": "the daily report, please"})  # fmt: skip
    assert sent.status_code == 202, sent.text
    root, conversation = sent.json()["message_id"], sent.json()["conversation_id"]

    def asked_both_answered_one() -> bool:
        log = api.get(f"/projects/{project}/messages", headers=admin,
                      params={"conversation_id": conversation, "limit": 200}).json()["items"]  # fmt: skip
        status = {
            m["receiver"]["id"]: m["status"] for m in log if m["parent_id"] == root and m["performative"] == "request"
        }
        return status == {data: "queued", analysis: "complete"}

    eventually_sync(asked_both_answered_one, timeout=120, what="both asked, analysis answered, data (paused) not")
    # The manager waits, parked (analysis's reply woke it: it is queued for a moment, then parks again).
    eventually_sync(lambda: _message(api, admin, project, root)["status"] == "processing", timeout=60,
                    what="the manager to park again on data's reply")  # fmt: skip
    assert api.patch(f"/projects/{project}/agents/{data}", headers=admin, json={"status": "active"}).status_code == 200

    def finished() -> dict | None:
        message = _message(api, admin, project, root)
        return message if message and message["status"] in ("complete", "error") else None

    assert eventually_sync(finished, timeout=120, what="the report")["status"] == "complete"
    path = f"/projects/{project}/conversations/{conversation}/events"
    events = _events_until_reply_to(api, sse, path, admin, root)

    asked = [e.data["delegation"] for e in events if e.event == "delegated"]
    assert [(m["receiver"]["id"], m["sender"]["id"], m["parent_id"]) for m in asked] == [
        (data, manager, root),
        (analysis, manager, root),
    ]
    answered = {e.data["delegation"]["receiver"]["id"]: e.data["text"] for e in events if e.event == "delegation_reply"}
    assert answered == {data: "data: 42 orders today", analysis: "analysis: orders are up 5%"}
    final = events[-1].data["reply"]
    assert final["content"] == "report: data: 42 orders today\nanalysis: orders are up 5%"
    assert final["parent_id"] == root

    log = api.get(f"/projects/{project}/messages", headers=admin,
                  params={"conversation_id": conversation, "limit": 200}).json()["items"]  # fmt: skip
    requests = [m for m in log if m["performative"] == "request" and m["parent_id"] == root]
    assert sorted(m["receiver"]["id"] for m in requests) == sorted([data, analysis])
    replies = [m for m in log if m["performative"] == "reply"]
    assert sorted(m["parent_id"] for m in replies) == sorted([root, *(m["id"] for m in requests)])
    tree = requests + [m for m in replies if m["parent_id"] != root]
    assert {m["correlation_id"] for m in tree} == {root}
    assert all(m["status"] == "complete" for m in requests)


def test_unknown_and_foreign_agents_are_refused_to_the_model(
    api: httpx.Client, admin: dict[str, str], project: str
) -> None:
    other = api.post("/projects", headers=admin, json={"name": f"e2e-cooperation-other-{uuid.uuid4().hex[:6]}"})
    theirs = _agent(api, admin, other.json()["id"], "theirs", _scripted("never asked"))
    asker = _agent(api, admin, project, "asker",
                   _scripted(_ask("nobody"), _ask(theirs), json.dumps({"final": "{{observations}}"})))  # fmt: skip
    _grant(api, admin, project, asker)

    sent = api.post(f"/projects/{project}/agents/{asker}/messages", headers=admin, json={"content": "go"})
    root = sent.json()["message_id"]

    def answered() -> dict | None:
        message = _message(api, admin, project, root)
        return message if message and message["status"] == "complete" else None

    eventually_sync(answered, timeout=120, what="the asker's answer")
    log = api.get(f"/projects/{project}/messages", headers=admin, params={"limit": 200}).json()["items"]
    reply = next(m for m in log if m["performative"] == "reply" and m["parent_id"] == root)
    assert reply["content"] == (
        f"error: there is no agent 'nobody' in this project\nerror: there is no agent '{theirs}' in this project"
    )
    theirs_log = api.get(f"/projects/{other.json()['id']}/messages", headers=admin).json()["items"]
    assert theirs_log == []  # nothing crossed into the other project


def test_cancelling_a_turn_that_waits_on_a_delegation_stops_both(
    api: httpx.Client, admin: dict[str, str], project: str, sse, login_as
) -> None:
    waiter = _agent(
        api, admin, project, "waiter", _scripted(_ask("sleeper"), json.dumps({"final": "{{observations}}"}))
    )
    # Paused: its message waits in the mailbox, so the waiter stays parked on it.
    sleeper = _agent(api, admin, project, "sleeper", _scripted("too late"), status="paused")
    _grant(api, admin, project, waiter)
    sent = api.post(f"/projects/{project}/agents/{waiter}/messages", headers=admin, json={"content": "wait"})
    root, conversation = sent.json()["message_id"], sent.json()["conversation_id"]

    def delegated() -> dict | None:
        log = api.get(f"/projects/{project}/messages", headers=admin, params={"agent_id": sleeper}).json()["items"]
        return next((m for m in log if m["parent_id"] == root), None)

    asked = eventually_sync(delegated, timeout=120, what="the delegation to the sleeper")
    assert _message(api, admin, project, root)["status"] == "processing"

    tag = uuid.uuid4().hex[:6]
    user = api.post("/users", headers=admin, json={"username": f"coop_{tag}", "password": "password-123"})
    outsider = login_as(f"coop_{tag}", "password-123")
    assert user.status_code == 201, user.text
    refused = api.post(f"/projects/{project}/messages/{root}/cancel", headers=outsider)
    assert refused.status_code == 404, refused.text

    cancelled = api.post(f"/projects/{project}/messages/{root}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    def both_cancelled() -> bool:
        return all(_message(api, admin, project, m)["status"] == "cancelled" for m in (root, asked["id"]))

    eventually_sync(both_cancelled, timeout=30, what="both turns cancelled")
    events = sse(api, f"/projects/{project}/conversations/{conversation}/events", admin, until="cancelled")
    assert events[-1].data["message_id"] in (root, asked["id"]) and events[-1].data["status"] == "cancelled"
    again = api.post(f"/projects/{project}/messages/{root}/cancel", headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "failed_precondition"
    # The sleeper wakes up later: its cancelled message gets no answer.
    assert (
        api.patch(f"/projects/{project}/agents/{sleeper}", headers=admin, json={"status": "active"}).status_code == 200
    )
    follow_up = api.post(f"/projects/{project}/agents/{sleeper}/messages", headers=admin, json={"content": "hi"})
    follow_id = follow_up.json()["message_id"]
    eventually_sync(lambda: (_message(api, admin, project, follow_id) or {}).get("status") == "complete",
                    timeout=120, what="the sleeper's next message answered")  # fmt: skip
    log = api.get(f"/projects/{project}/messages", headers=admin, params={"limit": 200}).json()["items"]
    assert not any(m["performative"] == "reply" and m["parent_id"] in (root, asked["id"]) for m in log)


def _answer(api: httpx.Client, admin: dict[str, str], project: str, root: str) -> dict:
    def finished() -> dict | None:
        message = _message(api, admin, project, root)
        return message if message and message["status"] in ("complete", "error", "cancelled") else None

    final = eventually_sync(finished, timeout=120, what="the request to end")
    log = api.get(f"/projects/{project}/messages", headers=admin, params={"limit": 200}).json()["items"]
    return {"status": final["status"], "reply": next(
        (m["content"] for m in log if m["performative"] == "reply" and m["parent_id"] == root), None)}  # fmt: skip


def test_a_cycle_and_a_chain_too_deep_end_with_clear_errors(api: httpx.Client, admin: dict[str, str], project) -> None:
    tag = uuid.uuid4().hex[:4]
    back = json.dumps({"final": "{{observations}}"})
    first = _agent(api, admin, project, f"ping-{tag}", _scripted(_ask(f"pong-{tag}"), back))
    second = _agent(api, admin, project, f"pong-{tag}", _scripted(_ask(f"ping-{tag}"), back))
    # The chain in a project of its own: its delegations then share no message rate with the cycle's.
    created = api.post("/projects", headers=admin, json={"name": f"e2e-chain-{tag}"})
    assert created.status_code == 201, created.text
    deep_project = created.json()["id"]
    names = [f"level{i}-{tag}" for i in range(6)]
    # Enough steps for five levels asking and answering: the depth limit, not the budget, ends it.
    chain = [
        _agent(api, admin, deep_project, name, _scripted(_ask(names[i + 1]) if i < 5 else "bottom", back),
               model_config={"max_steps": 16})
        for i, name in enumerate(names)
    ]  # fmt: skip
    for agent in (first, second):
        _grant(api, admin, project, agent)
    for agent in chain:
        _grant(api, admin, deep_project, agent)

    cycle = api.post(f"/projects/{project}/agents/{first}/messages", headers=admin, json={"content": "go"})
    deep = api.post(f"/projects/{deep_project}/agents/{chain[0]}/messages", headers=admin, json={"content": "go"})

    looped = _answer(api, admin, project, cycle.json()["message_id"])
    assert looped["status"] == "complete", looped
    assert looped["reply"].startswith(f"refused: ping-{tag} already works on this request further up the chain")
    deepest = _answer(api, admin, deep_project, deep.json()["message_id"])
    assert deepest["status"] == "complete", deepest
    assert deepest["reply"] == "refused: delegation depth limit reached (4 agents deep); answer with what you have."
    log = api.get(f"/projects/{deep_project}/messages", headers=admin, params={"agent_id": chain[5]}).json()["items"]
    assert log == []  # the sixth level was never asked
    for where, agents in ((project, (first, second)), (deep_project, chain)):
        waiting = api.get(f"/projects/{where}/messages", headers=admin, params={"status": "processing"}).json()
        assert [m for m in waiting["items"] if m["receiver"]["id"] in agents] == []  # nothing stays parked
