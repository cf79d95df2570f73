"""The monitoring agent over REST, on the real mesh (issue 13, item 6).

A scripted agent that fails every turn (its model's only output is not a step, and it
may take one step) trips the default rule, five failed turns of one agent within ten
minutes: the alert appears in the project's monitoring conversation (the conversation
of its agent of type "monitor", read with `GET /projects/{p}/messages`), within the
rule's window, and the agent is paused where the monitoring agent's
`model_config.pause_offenders` allows it, and stays active where it does not. Members
who are not admins do not see the monitoring conversation.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import httpx
import pytest

from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

FAILURES = 5  # the default rule: 5 failed turns within 10 minutes
WINDOW_SECONDS = 600
FAILING_PROMPT = f"You fail on purpose.\nagentmesh-script: {json.dumps(['this is not a step'])}"


def _project(api: httpx.Client, admin: dict[str, str], *, pause_offenders: bool) -> tuple[str, str]:
    """A project with a monitoring agent; (project id, monitoring agent id)."""
    project = api.post("/projects", headers=admin, json={"name": f"e2e-monitor-{uuid.uuid4().hex[:6]}"})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    monitor = api.post(
        f"/projects/{project_id}/agents",
        headers=admin,
        json={
            "name": "monitor",
            "agent_type": "monitor",
            "system_prompt": "You write the project's daily health summary from the figures you are given.",
            "model_config": {"pause_offenders": pause_offenders},
        },
    )
    assert monitor.status_code == 201, monitor.text
    assert monitor.json()["model_config"] == {"pause_offenders": pause_offenders}
    return project_id, monitor.json()["id"]


def _failing_agent(api: httpx.Client, admin: dict[str, str], project: str) -> str:
    created = api.post(
        f"/projects/{project}/agents",
        headers=admin,
        json={"name": "flaky", "system_prompt": FAILING_PROMPT, "model_config": {"max_steps": 1}},
    )
    assert created.status_code == 201, created.text
    agent = created.json()["id"]
    # A granted tool makes its turns ReAct turns: one step, never a valid one, so each turn fails.
    granted = api.put(f"/projects/{project}/agents/{agent}/tools", headers=admin, json=[{"name": "calculator"}])
    assert granted.status_code == 200, granted.text
    return agent


def _fail_turns(api: httpx.Client, admin: dict[str, str], project: str, agent: str) -> list[dict]:
    """Send FAILURES messages and wait until each has failed; the failed requests."""
    sent = []
    for n in range(FAILURES):
        response = api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": f"try {n}"})
        assert response.status_code == 202, response.text
        sent.append(response.json()["message_id"])

    def all_failed() -> list[dict] | None:
        log = api.get(f"/projects/{project}/messages", headers=admin, params={"agent_id": agent, "limit": 200})
        assert log.status_code == 200, log.text
        mine = {m["id"]: m for m in log.json()["items"] if m["id"] in sent}
        assert all(m["status"] != "complete" for m in mine.values()), mine  # the script never answers
        done = [m for m in mine.values() if m["status"] == "error"]
        return done if len(done) == FAILURES else None

    return eventually_sync(all_failed, timeout=180, what=f"{FAILURES} failed turns")


def _alert(api: httpx.Client, admin: dict[str, str], project: str, monitor: str, agent: str) -> dict:
    def posted() -> dict | None:
        log = api.get(f"/projects/{project}/messages", headers=admin, params={"conversation_id": monitor})
        assert log.status_code == 200, log.text
        alerts = [m for m in log.json()["items"] if m["performative"] == "alert"]
        assert len(alerts) <= 1, alerts  # one alert, however many replicas or events
        return alerts[0] if alerts else None

    alert = eventually_sync(posted, timeout=60, what="the monitoring alert")
    assert alert["content"]["alert"]["agent_id"] == agent
    assert alert["content"]["alert"]["kind"] == "turn_failed"
    assert alert["content"]["alert"]["count"] >= FAILURES
    assert "5 failed turns within 10 minutes" in alert["content"]["text"]
    assert alert["sender"]["type"] == "system"
    return alert


def _status(api: httpx.Client, admin: dict[str, str], project: str, agent: str) -> str:
    response = api.get(f"/projects/{project}/agents/{agent}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()["status"]


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_failing_agent_trips_the_rule_the_alert_reaches_the_admins_and_the_agent_is_paused(
    api: httpx.Client, admin: dict[str, str]
) -> None:
    project, monitor = _project(api, admin, pause_offenders=True)
    agent = _failing_agent(api, admin, project)
    failed = _fail_turns(api, admin, project, agent)

    alert = _alert(api, admin, project, monitor, agent)
    first_failure = min(_at(m["updated_at"]) for m in failed)
    assert (_at(alert["created_at"]) - first_failure).total_seconds() < WINDOW_SECONDS
    assert alert["content"]["alert"]["paused"] is True
    eventually_sync(lambda: _status(api, admin, project, agent) == "paused", timeout=30, what="the agent paused")
    assert _status(api, admin, project, monitor) == "active"


def test_the_agent_is_not_paused_when_the_project_does_not_allow_it(
    api: httpx.Client, admin: dict[str, str], login_as
) -> None:
    project, monitor = _project(api, admin, pause_offenders=False)
    agent = _failing_agent(api, admin, project)
    _fail_turns(api, admin, project, agent)

    alert = _alert(api, admin, project, monitor, agent)
    assert alert["content"]["alert"]["paused"] is False
    assert _status(api, admin, project, agent) == "active"

    # The monitoring conversation is the admins': a member who is not one sees the log without it.
    member = _member(api, admin, project, login_as)
    theirs = api.get(f"/projects/{project}/messages", headers=member, params={"conversation_id": monitor})
    assert theirs.status_code == 200 and theirs.json()["items"] == [], theirs.text
    everything = api.get(f"/projects/{project}/messages", headers=member, params={"limit": 200})
    assert everything.status_code == 200, everything.text
    ids = {m["id"] for m in everything.json()["items"]}
    assert alert["id"] not in ids and len(ids) >= FAILURES  # the failed requests are still theirs to read
    watched = api.get(f"/projects/{project}/conversations/{monitor}/events", headers=member)
    assert watched.status_code == 404, watched.text


def _member(api: httpx.Client, admin: dict[str, str], project: str, login_as) -> dict[str, str]:
    """Bearer headers of a new user who is a plain member (role user) of the project."""
    name, password = f"member_{uuid.uuid4().hex[:8]}", "member-password-123"
    user = api.post("/users", headers=admin, json={"username": name, "password": password})
    assert user.status_code == 201, user.text
    joined = api.post(
        f"/projects/{project}/members", headers=admin, json={"user_id": user.json()["id"], "role": "user"}
    )
    assert joined.status_code == 201, joined.text
    return login_as(name, password)
