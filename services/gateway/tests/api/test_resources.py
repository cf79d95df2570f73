"""Resource shapes and pagination."""

from __future__ import annotations

import uuid


async def _project(api, headers, name: str = "p") -> str:
    created = await api.post("/projects", headers=headers, json={"name": name})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_projects_page_with_cursors(api, admin) -> None:
    for i in range(5):
        await _project(api, admin, f"p{i}")
    first = (await api.get("/projects", headers=admin, params={"limit": 3})).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = (await api.get("/projects", headers=admin, params={"limit": 3, "cursor": first["next_cursor"]})).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    assert [p["name"] for p in first["items"] + second["items"]] == [f"p{i}" for i in range(5)]
    assert {p["role"] for p in first["items"]} == {"admin"}


async def test_service_lists_pass_limit_and_cursor_through(api, admin) -> None:
    project = await _project(api, admin)
    for i in range(3):
        await api.post(f"/projects/{project}/agents", headers=admin, json={"name": f"a{i}"})
    first = (await api.get(f"/projects/{project}/agents", headers=admin, params={"limit": 2})).json()
    assert [a["name"] for a in first["items"]] == ["a0", "a1"] and first["next_cursor"]
    rest = await api.get(f"/projects/{project}/agents", headers=admin, params={"cursor": first["next_cursor"]})
    assert rest.json() == {"items": [rest.json()["items"][0]], "next_cursor": None}
    for path in ("messages", "memory", "schedules"):
        body = (await api.get(f"/projects/{project}/{path}", headers=admin)).json()
        assert body == {"items": [], "next_cursor": None}, path


async def test_users_are_listed_and_patched(api, admin, make_user, login) -> None:
    user_id, _ = await make_user("grace")
    listed = (await api.get("/users", headers=admin)).json()
    assert [u["username"] for u in listed["items"]] == ["admin", "grace"]
    assert set(listed["items"][1]) == {"id", "username", "role", "is_active", "created_at", "last_login"}
    patched = await api.patch(
        f"/users/{user_id}", headers=admin, json={"role": "superadmin", "password": "new-pass-99"}
    )
    assert patched.status_code == 200 and patched.json()["role"] == "superadmin"
    assert (await api.get("/users", headers=await login("grace", "new-pass-99"))).status_code == 200
    assert (await api.patch(f"/users/{uuid.uuid4()}", headers=admin, json={"is_active": False})).status_code == 404


async def test_a_superadmin_cannot_lock_themselves_out(api, admin) -> None:
    me = (await api.get("/auth/me", headers=admin)).json()
    response = await api.patch(f"/users/{me['id']}", headers=admin, json={"is_active": False})
    assert response.status_code == 409 and response.json()["error"]["code"] == "failed_precondition"


async def test_agent_round_trip_keeps_model_config(api, admin) -> None:
    project = await _project(api, admin)
    body = {"name": "a", "system_prompt": "Be brief.", "model_config": {"temperature": 0.2}, "topics": ["news"]}
    created = await api.post(f"/projects/{project}/agents", headers=admin, json=body)
    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["model_config"] == {"temperature": 0.2} and agent["topics"] == ["news"]
    assert agent["status"] == "active" and agent["project_id"] == project
    patched = await api.patch(f"/projects/{project}/agents/{agent['id']}", headers=admin, json={"status": "paused"})
    assert patched.json()["status"] == "paused" and patched.json()["model_config"] == {"temperature": 0.2}
    assert (await api.delete(f"/projects/{project}/agents/{agent['id']}", headers=admin)).status_code == 204
    assert (await api.get(f"/projects/{project}/agents/{agent['id']}", headers=admin)).status_code == 404


async def test_message_is_accepted_with_202_and_logged(api, admin) -> None:
    project = await _project(api, admin)
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()["id"]
    response = await api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": "hi"})
    assert response.status_code == 202
    accepted = response.json()
    assert set(accepted) == {"message_id", "conversation_id", "status"} and accepted["status"] == "queued"
    log = (await api.get(f"/projects/{project}/messages", headers=admin, params={"agent_id": agent})).json()
    (message,) = log["items"]
    assert set(message) == {"id", "project_id", "conversation_id", "sender", "receiver", "content", "performative",
                            "status", "error", "parent_id", "correlation_id", "created_at", "updated_at"}  # fmt: skip
    assert message["receiver"] == {"type": "agent", "id": agent} and message["sender"]["type"] == "user"
    filtered = await api.get(f"/projects/{project}/messages", headers=admin, params={"status": "complete"})
    assert filtered.json()["items"] == []


async def test_memory_add_list_search_delete(api, admin) -> None:
    project = await _project(api, admin)
    added = await api.post(
        f"/projects/{project}/memory",
        headers=admin,
        json={"documents": [{"content": "Paris is in France", "metadata": {"src": "atlas"}},
                            {"content": "Bananas are yellow"}], "metadata": {"lang": "en"}},
    )  # fmt: skip
    assert added.status_code == 201, added.text
    entries = added.json()["items"]
    assert [e["metadata"] for e in entries] == [{"lang": "en", "src": "atlas"}, {"lang": "en"}]
    hits = await api.post(f"/projects/{project}/memory/search", headers=admin, json={"query": "France", "k": 1})
    (hit,) = hits.json()["items"]
    assert hit["content"] == "Paris is in France" and {"id", "content", "metadata", "score"} <= set(hit)
    assert len((await api.get(f"/projects/{project}/memory", headers=admin)).json()["items"]) == 2
    assert (await api.delete(f"/projects/{project}/memory/{entries[0]['id']}", headers=admin)).status_code == 204
    assert (await api.delete(f"/projects/{project}/memory/{entries[0]['id']}", headers=admin)).status_code == 404


async def test_memory_add_retried_with_its_idempotency_key_returns_the_first_entries(api, admin) -> None:
    project = await _project(api, admin)
    body = {"content": "Rome is in Italy", "idempotency_key": "import-42"}
    first = await api.post(f"/projects/{project}/memory", headers=admin, json=body)
    again = await api.post(f"/projects/{project}/memory", headers=admin, json=body)
    assert first.status_code == again.status_code == 201, again.text
    assert [e["id"] for e in again.json()["items"]] == [e["id"] for e in first.json()["items"]]
    assert len((await api.get(f"/projects/{project}/memory", headers=admin)).json()["items"]) == 1


async def test_schedule_shape(api, admin) -> None:
    project = await _project(api, admin)
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()["id"]
    body = {"agent_id": agent, "cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "payload": {"report": "daily"}}
    created = await api.post(f"/projects/{project}/schedules", headers=admin, json=body)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert {k: schedule[k] for k in body} == body and schedule["enabled"] is True
    assert {"id", "last_run_at", "last_run_outcome", "next_run_at", "temporal_schedule_id"} <= set(schedule)
    path = f"/projects/{project}/schedules/{schedule['id']}"
    assert (await api.get(path, headers=admin)).json() == schedule
    assert (await api.delete(path, headers=admin)).status_code == 204
    assert (await api.get(path, headers=admin)).status_code == 404


async def test_health_readiness_and_metrics_need_no_auth(api, state) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz/dependencies")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    state.readiness.results["inference"] = False
    not_ready = await api.get("/readyz/dependencies")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"] == {"agents": "ok", "database": "ok", "inference": "unavailable", "memory": "ok",
                                          "nats": "ok", "scheduler": "ok", "temporal": "ok"}  # fmt: skip
    # The gateway's own readiness does not cascade: a dependency down, the gateway still serves.
    own = await api.get("/readyz")
    assert own.status_code == 200 and own.json()["checks"] == {"channels": "ok", "database": "ok"}
    await api.get("/projects")
    await api.get(f"/projects/{uuid.uuid4()}/agents")
    metrics = (await api.get("/metrics")).text
    assert 'agentmesh_http_requests_total{method="GET",route="/projects",status="401"}' in metrics
    assert 'route="/projects/{project_id}/agents"' in metrics


async def test_request_id_is_echoed_or_made(api) -> None:
    response = await api.get("/healthz", headers={"X-Request-ID": "req-123"})
    assert response.headers["x-request-id"] == "req-123"
    made = (await api.get("/healthz")).headers["x-request-id"]
    assert len(made) == 32


async def test_openapi_docs_are_served(api) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert "/projects/{project_id}/agents/{agent_id}/messages" in spec["paths"]
    assert "/projects/{project_id}/conversations/{conversation_id}/events" in spec["paths"]
    assert (await api.get("/docs")).status_code == 200
