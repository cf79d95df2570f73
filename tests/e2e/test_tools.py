"""One tool turn over REST only, on the real mesh: grant, message, tool events on SSE, the end, the audit.

The model is the real tiny random-weight one: it follows no script, so the test
asserts what the platform guarantees whatever the model says: structured output
keeps each step to the granted tool (or a final answer), every call the stream
shows is in the audit and the log, a refused call carries its reason, and the
turn ends complete or with a clear budget error, never hanging or crashing.

To script an agent instead (deterministic agent logic over REST only), put an
`agentmesh-script: [...]` line in its system prompt: the e2e mesh runs with
AGENTMESH_PROMPT_SCRIPTS (services/agents/src/agentmesh_agents/adapters/prompt_scripts.py,
docs/DEVELOPING.md "Scripted agents").
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from jsonschema import Draft202012Validator

from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

BUDGET_ERROR = "without a final answer"


@pytest.fixture(scope="module")
def project(api: httpx.Client, admin: dict[str, str]) -> str:
    response = api.post("/projects", headers=admin, json={"name": f"e2e-tools-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


# Issue 8's real-model check: this many turns, over a few agents (their turns run side by side).
REAL_TURNS = 20
REAL_AGENTS = 4


def _send(api: httpx.Client, admin: dict[str, str], project: str, agent: str, content: str) -> dict:
    """POST a message, waiting out the project's message rate (429 with Retry-After) as a client would."""

    def accepted() -> dict | None:
        sent = api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": content})
        if sent.status_code == 429:
            return None
        assert sent.status_code == 202, sent.text
        return sent.json()

    return eventually_sync(accepted, timeout=60, interval=0.5, what="the message to be accepted")


def test_real_model_tool_turns_over_rest(api: httpx.Client, admin: dict[str, str], project: str, sse) -> None:
    catalog = api.get("/tools", headers=admin)
    assert catalog.status_code == 200, catalog.text
    calculator = next(t for t in catalog.json()["items"] if t["name"] == "calculator")
    assert calculator["kind"] == "builtin" and calculator["enabled"]

    agents = []
    for index in range(REAL_AGENTS):
        created = api.post(
            f"/projects/{project}/agents",
            headers=admin,
            json={
                "name": f"calc-{index}",
                "system_prompt": "You compute with the calculator.",
                # Enough tokens for a whole calculator call; few steps, so the prompt stays in the tiny model's context.
                "model_config": {"temperature": 0.0, "max_tokens": 256, "max_steps": 3, "seed": index},
            },
        )
        assert created.status_code == 201, created.text
        agent = created.json()["id"]
        granted = api.put(f"/projects/{project}/agents/{agent}/tools", headers=admin, json=[{"name": "calculator"}])
        assert granted.status_code == 200, granted.text
        assert [g["name"] for g in granted.json()["items"]] == ["calculator"]
        agents.append(agent)

    sent = [
        (agents[turn % REAL_AGENTS], _send(api, admin, project, agents[turn % REAL_AGENTS], f"What is {turn}*7?"))
        for turn in range(REAL_TURNS)
    ]
    arguments_schema = Draft202012Validator(calculator["parameters"])
    ends = [_check_real_turn(api, admin, project, sse, agent, accepted, arguments_schema) for agent, accepted in sent]
    print(f"{REAL_TURNS} real-model turns: {ends.count('reply')} complete, {ends.count('error')} budget errors")


def _check_real_turn(
    api: httpx.Client,
    admin: dict[str, str],
    project: str,
    sse,
    agent: str,
    accepted: dict,
    arguments_schema: Draft202012Validator,
) -> str:
    """What the platform guarantees of a real-model turn, whatever the model said; how it ended."""

    def final_request() -> dict | None:
        log = api.get(f"/projects/{project}/messages", headers=admin, params={"agent_id": agent, "limit": 200})
        mine = next(m for m in log.json()["items"] if m["id"] == accepted["message_id"])
        return mine if mine["status"] in ("complete", "error") else None

    request = eventually_sync(final_request, timeout=300, what="the tool turn to end")
    end = "reply" if request["status"] == "complete" else "error"
    events = sse(api, f"/projects/{project}/conversations/{accepted['conversation_id']}/events", admin, until=end)

    if end == "error":
        assert BUDGET_ERROR in events[-1].data["error"], events[-1].data
    else:
        assert events[-1].data["reply"]["parent_id"] == accepted["message_id"]
    calls = [e.data["tool_call"] for e in events if e.event == "tool_call"]
    results = [e.data for e in events if e.event == "tool_result"]
    assert [c["id"] for c in calls] == [r["tool_call"]["id"] for r in results]
    for call, result in zip(calls, results, strict=True):
        assert call["tool"] == "calculator", call  # structured output offers nothing else
        outcome = result["tool_call"]["outcome"]
        assert outcome in ("allowed", "error", "refused"), result
        if outcome == "refused":
            assert result["tool_call"]["error"], result  # every refusal says why
        else:
            assert arguments_schema.is_valid(call["arguments"]), call
    audit = api.get(f"/projects/{project}/tool-calls", headers=admin, params={"message_id": accepted["message_id"]})
    assert audit.status_code == 200, audit.text
    assert sorted(c["id"] for c in audit.json()["items"]) == sorted(c["id"] for c in calls)
    log = api.get(
        f"/projects/{project}/messages", headers=admin, params={"conversation_id": accepted["conversation_id"]}
    ).json()["items"]
    steps = [m for m in log if m["performative"] == "tool_call"]
    assert len(steps) == len(calls) and all(m["parent_id"] == accepted["message_id"] for m in steps)
    return end


def test_a_scripted_tool_turn_over_rest(api: httpx.Client, admin: dict[str, str], project: str, sse) -> None:
    # The agent follows its script (AGENTMESH_PROMPT_SCRIPTS): a calculator call, then a final
    # answer quoting the observation, so the result asserted is the tool's real one.
    script = [
        json.dumps({"tool": "calculator", "arguments": {"expression": "6*7"}}),
        json.dumps({"final": "The calculator says {{observations}}"}),
    ]
    created = api.post(
        f"/projects/{project}/agents",
        headers=admin,
        json={"name": "scripted-calc", "system_prompt": f"You compute.\nagentmesh-script: {json.dumps(script)}"},
    )
    assert created.status_code == 201, created.text
    agent = created.json()["id"]
    granted = api.put(f"/projects/{project}/agents/{agent}/tools", headers=admin, json=[{"name": "calculator"}])
    assert granted.status_code == 200, granted.text
    sent = api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": "What is 6*7?"})
    assert sent.status_code == 202, sent.text
    accepted = sent.json()
    events = sse(api, f"/projects/{project}/conversations/{accepted['conversation_id']}/events", admin, until="reply")
    calls = [e.data["tool_call"] for e in events if e.event == "tool_call"]
    assert [(c["tool"], c["arguments"]) for c in calls] == [("calculator", {"expression": "6*7"})]
    results = [e.data["tool_call"] for e in events if e.event == "tool_result"]
    assert [r["outcome"] for r in results] == ["allowed"]
    reply = events[-1].data["reply"]
    assert reply["parent_id"] == accepted["message_id"]
    assert "42" in json.dumps(reply["content"]), reply
