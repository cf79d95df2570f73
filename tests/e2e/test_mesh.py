"""The whole mesh end to end, over REST only, as the web frontend uses it."""

from __future__ import annotations

import time
import uuid

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from agentmesh_devstack.stack import Stack
from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

GRPC_SERVICES = {
    "agents": "agentmesh.agents.v1.AgentService",
    "memory": "agentmesh.memory.v1.MemoryService",
    "inference": "agentmesh.inference.v1.InferenceService",
    "scheduler": "agentmesh.scheduler.v1.SchedulerService",
}


@pytest.fixture(scope="module")
def project(api: httpx.Client, admin: dict[str, str]) -> str:
    response = api.post("/projects", headers=admin, json={"name": f"e2e-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
def agent(api: httpx.Client, admin: dict[str, str], project: str) -> str:
    response = api.post(
        f"/projects/{project}/agents",
        headers=admin,
        json={
            "name": "helper",
            "purpose": "answers questions",
            "system_prompt": "You are a helpful assistant.",
            "model_config": {"temperature": 0.0, "max_tokens": 24},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def messages(api: httpx.Client, headers: dict[str, str], project: str, **filters: str) -> list[dict]:
    response = api.get(f"/projects/{project}/messages", headers=headers, params={"limit": 200, **filters})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_every_service_answers_health_and_reflection(mesh: Stack) -> None:
    for service, full_name in GRPC_SERVICES.items():
        with grpc.insecure_channel(mesh.config.addr(service)) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=full_name))
            assert health.status == health_pb2.HealthCheckResponse.SERVING, service
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            (answer,) = list(stub.ServerReflectionInfo(iter([request])))
            names = {s.name for s in answer.list_services_response.service}
            assert {full_name, "grpc.health.v1.Health"} <= names, service


def test_readiness_reports_every_dependency(api: httpx.Client) -> None:
    assert api.get("/healthz").status_code == 200
    assert api.get("/readyz").status_code == 200  # the gateway's own readiness
    response = api.get("/readyz/dependencies")
    assert response.status_code == 200, response.text
    text = response.text
    for dependency in ("database", "nats", "temporal", "agents", "memory", "inference", "scheduler"):
        assert dependency in text


def test_message_streams_tokens_and_completes(
    api: httpx.Client, admin: dict[str, str], project: str, agent: str, sse
) -> None:
    response = api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": "Hello?"})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    conversation = accepted["conversation_id"]

    events = sse(api, f"/projects/{project}/conversations/{conversation}/events", admin, until="reply")
    kinds = [event.event for event in events]
    assert "token" in kinds, kinds
    assert kinds.index("token") < kinds.index("reply")
    reply = events[-1].data["reply"]
    tokens = "".join(event.data.get("text", "") for event in events if event.event == "token")
    assert reply["content"] == tokens
    assert reply["parent_id"] == accepted["message_id"]

    log = {m["id"]: m for m in messages(api, admin, project, conversation_id=conversation)}
    assert log[accepted["message_id"]]["status"] == "complete"
    assert log[reply["id"]]["sender"] == {"type": "agent", "id": agent}

    # Resuming after the last event id replays nothing already seen.
    resumed_after = events[0].id
    replay = sse(
        api,
        f"/projects/{project}/conversations/{conversation}/events",
        {**admin, "Last-Event-ID": resumed_after},
        until="reply",
    )
    assert [e.id for e in replay] == [e.id for e in events[1:]]


def test_memory_search_ranks_the_right_entry_first(api: httpx.Client, admin: dict[str, str], project: str) -> None:
    for text in ("The capital of France is Paris.", "Bananas are rich in potassium."):
        response = api.post(f"/projects/{project}/memory", headers=admin, json={"content": text})
        assert response.status_code == 201, response.text
    response = api.post(
        f"/projects/{project}/memory/search", headers=admin, json={"query": "Which city is France's capital?", "k": 2}
    )
    assert response.status_code == 200, response.text
    hits = response.json()["items"]
    assert [h["content"] for h in hits] == ["The capital of France is Paris.", "Bananas are rich in potassium."]
    assert hits[0]["score"] > hits[1]["score"]


def test_interval_schedule_sends_messages_to_the_agent(
    api: httpx.Client, admin: dict[str, str], project: str, agent: str
) -> None:
    response = api.post(
        f"/projects/{project}/schedules",
        headers=admin,
        json={"agent_id": agent, "interval_seconds": 2, "payload": "scheduled ping"},
    )
    assert response.status_code == 201, response.text
    schedule = response.json()
    assert schedule["temporal_schedule_id"].startswith(f"project-{project}-")
    assert schedule["next_runs"] and schedule["next_run_at"] == schedule["next_runs"][0]  # as Temporal has it

    def scheduled_messages() -> list[dict]:
        return [m for m in messages(api, admin, project, agent_id=agent) if m["sender"]["type"] == "system"]

    received = eventually_sync(scheduled_messages, timeout=30, interval=0.5, what="a message from the scheduler")
    assert received[0]["content"] == "scheduled ping"
    assert received[0]["receiver"] == {"type": "agent", "id": agent}
    eventually_sync(
        lambda: api.get(f"/projects/{project}/schedules/{schedule['id']}", headers=admin).json().get("last_run_at"),
        timeout=30,
        interval=0.5,
        what="the schedule to record its run",
    )
    assert api.delete(f"/projects/{project}/schedules/{schedule['id']}", headers=admin).status_code == 204


def test_non_member_sees_nothing_of_the_project(
    api: httpx.Client, admin: dict[str, str], project: str, agent: str, login_as
) -> None:
    name = f"outsider-{uuid.uuid4().hex[:6]}"
    account = {"username": name, "password": "outsider-password", "role": "user"}
    created = api.post("/users", headers=admin, json=account)
    assert created.status_code == 201, created.text
    outsider = login_as(name, "outsider-password")
    for method, path in [
        ("GET", f"/projects/{project}"),
        ("GET", f"/projects/{project}/agents"),
        ("GET", f"/projects/{project}/agents/{agent}"),
        ("GET", f"/projects/{project}/messages"),
        ("POST", f"/projects/{project}/memory/search"),
        ("GET", f"/projects/{project}/schedules"),
    ]:
        response = api.request(method, path, headers=outsider, json={"query": "x"} if method == "POST" else None)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert project not in {p["id"] for p in api.get("/projects", headers=outsider).json()["items"]}


def test_bad_input_gets_json_4xx(api: httpx.Client, admin: dict[str, str], project: str, agent: str) -> None:
    messages_path = f"/projects/{project}/agents/{agent}/messages"
    cases = [
        ("POST", messages_path, {"content": b"{not json"}, {400, 422}),
        ("POST", messages_path, {"json": {"content": "hi", "conversation_id": 5}}, {400, 422}),
        ("POST", messages_path, {"json": {"content": "hi", "conversation_id": "nope"}}, {400, 422}),
        ("POST", f"/projects/{project}/agents/{uuid.uuid4()}/messages", {"json": {"content": "hi"}}, {404}),
        ("GET", f"/projects/{project}/agents/not-a-uuid", {}, {404, 422}),
        ("GET", f"/projects/{uuid.uuid4()}/agents", {}, {404}),
        ("POST", f"/projects/{project}/schedules", {"json": {"agent_id": agent, "cron": "not a cron"}}, {400, 422}),
        ("POST", f"/projects/{project}/memory/search", {"json": {"query": "x", "k": "many"}}, {400, 422}),
    ]
    for method, path, kwargs, expected in cases:
        response = api.request(method, path, headers=admin, **kwargs)
        assert response.status_code in expected, (method, path, response.status_code, response.text)
        assert set(response.json()["error"]) >= {"code", "message"}, response.text
    forged = {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}
    for headers in (forged, {}):
        response = api.get("/projects", headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthenticated"


def test_restarting_the_agents_service_loses_no_message(
    mesh: Stack, api: httpx.Client, admin: dict[str, str], project: str
) -> None:
    # A paused agent keeps its mailbox full, so every message is still queued when the service stops.
    created = api.post(
        f"/projects/{project}/agents",
        headers=admin,
        json={"name": "durable", "status": "paused", "model_config": {"temperature": 0.0, "max_tokens": 16}},
    )
    assert created.status_code == 201, created.text
    durable = created.json()["id"]
    sent = []
    for i in range(8):
        response = api.post(f"/projects/{project}/agents/{durable}/messages", headers=admin, json={"content": f"#{i}"})
        assert response.status_code == 202, response.text
        sent.append(response.json()["message_id"])
    queued = [m for m in messages(api, admin, project, agent_id=durable) if m["id"] in sent]
    assert [m["status"] for m in queued] == ["queued"] * len(sent)
    mesh.stop_service("agents")

    # Dependants answer 503 quickly while the service is down, they do not hang.
    started = time.monotonic()
    down = api.get(f"/projects/{project}/messages", headers=admin)
    assert down.status_code == 503, down.text
    assert down.json()["error"]["code"] == "unavailable"
    assert time.monotonic() - started < 15

    mesh.start_service("agents")
    eventually_sync(
        lambda: mesh.readiness()[0] == 200, timeout=120, interval=0.5, what="the agents service to be ready again"
    )
    resumed = api.patch(f"/projects/{project}/agents/{durable}", headers=admin, json={"status": "active"})
    assert resumed.status_code == 200, resumed.text

    def all_complete() -> list[dict] | None:
        log = messages(api, admin, project, agent_id=durable)
        requests = {m["id"]: m for m in log if m["id"] in sent}
        if len(requests) == len(sent) and all(m["status"] == "complete" for m in requests.values()):
            return log
        return None

    log = eventually_sync(
        all_complete, timeout=180, interval=0.5, what="every queued message to complete after the restart"
    )
    replies = [m for m in log if m.get("parent_id") in sent]
    assert sorted(m["parent_id"] for m in replies) == sorted(sent), "each message has exactly one reply"
