"""Topics over REST only, on the real mesh, with scripted LLMs: the daily report's topic variant.

A manager agent, asked for the daily report, publishes to `daily_report_<date>`
with the publish_to_topic tool; the data and analysis agents subscribed to it
each get one message and answer it. A REST publish retried with its
idempotency key delivers once.

Scripted LLMs: for this module the mesh's agents service is swapped for one
whose InferenceService is the real inference servicer (quotas, fair queue,
validation) over a ScriptedEngine that answers by the agent's role, in a
process of its own (this file run as a script). The mesh's agents service is
started again afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from agentmesh_devstack.ports import free_port
from agentmesh_devstack.processes import ManagedProcess
from agentmesh_devstack.stack import Stack
from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

TOPIC = f"daily_report_{date.today().isoformat()}"
# Each agent's system prompt names its role; the scripted model answers by it.
ROLES = {
    "manager": "ROLE:manager. You run the daily report.",
    "data": "ROLE:data. You report the numbers.",
    "analysis": "ROLE:analysis. You explain the numbers.",
}
ANSWERS = {"data": "data: 42 orders today", "analysis": "analysis: orders are up 5%"}
TEAM_ASKED = "asked the team for their parts"


def scripted_reply(request) -> str:  # a ValidatedRequest of the inference service
    """What the scripted model says: by the role in the system turn, and (the manager) by its step."""
    messages = request.messages or ()
    system = messages[0].content if messages else ""
    for role, answer in ANSWERS.items():
        if f"ROLE:{role}." in system:
            return answer
    if "ROLE:manager." in system:
        if any(m.content.startswith("Observation: ") for m in messages):
            return json.dumps({"final": TEAM_ASKED}, separators=(",", ":"))
        step = {"tool": "publish_to_topic", "arguments": {"topic": TOPIC, "content": "your_part_of_the_report"}}
        return json.dumps(step, separators=(",", ":"))
    return "scripted model: no script for this agent"


async def _serve_scripted_model(address: str, secret: str) -> None:
    from agentmesh_core.tokens import IdentityTokens
    from agentmesh_grpc.server import ServiceServer
    from agentmesh_inference.adapters.scripted_engine import ScriptedEngine
    from agentmesh_inference.domain.inference import Inference
    from agentmesh_inference.domain.limits import Limits
    from agentmesh_inference.rpc.servicer import SERVICE_NAME, InferenceServicer, register

    servicer = InferenceServicer(Inference(Limits(), ScriptedEngine(scripted_reply), model="scripted"))
    server = ServiceServer(IdentityTokens(secret), address)
    server.add_service(SERVICE_NAME, lambda grpc_server: register(grpc_server, servicer))
    await server.start()
    await server.set_serving()
    await asyncio.Event().wait()


@pytest.fixture(scope="module")
def scripted_agents(mesh: Stack) -> Iterator[None]:
    """The mesh's agents service, for this module, talking to the scripted model."""
    from agentmesh_core.settings import CommonSettings

    env = mesh.service_env()
    secret = env.get("AGENTMESH_INTERNAL_SECRET") or CommonSettings().internal_secret.get_secret_value()
    model_addr = f"127.0.0.1:{free_port()}"
    logs = mesh.log_dir
    model = ManagedProcess(
        "scripted-model", [sys.executable, __file__, model_addr, secret], logs / "scripted-model.log", os.environ
    )
    agents = ManagedProcess(
        "agents-scripted",
        [sys.executable, "-m", "agentmesh_agents"],
        logs / "agents-scripted.log",
        {**env, "AGENTMESH_INFERENCE_SERVICE_ADDR": model_addr},
    )
    model.start()
    mesh.stop_service("agents")
    try:
        agents.start()
        mesh.wait_ready(timeout=180)
        yield
    finally:
        agents.stop()
        model.stop()
        mesh.start_service("agents")
        mesh.wait_ready(timeout=180)


@pytest.fixture(scope="module")
def project(api: httpx.Client, admin: dict[str, str], scripted_agents: None) -> str:
    response = api.post("/projects", headers=admin, json={"name": f"e2e-topics-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _agent(api: httpx.Client, admin: dict[str, str], project: str, role: str, topics: list[str]) -> str:
    body = {"name": role, "system_prompt": ROLES[role], "topics": topics,
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
        assert message["content"] == "your_part_of_the_report"
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


def test_a_rest_publish_retried_with_its_key_delivers_once(
    api: httpx.Client, admin: dict[str, str], project: str
) -> None:
    topic = f"retry-{uuid.uuid4().hex[:6]}"
    body = {"name": f"data-{topic}", "system_prompt": ROLES["data"], "topics": [topic],
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


if __name__ == "__main__":  # the scripted model's process (see the module docstring)
    asyncio.run(_serve_scripted_model(sys.argv[1], sys.argv[2]))
