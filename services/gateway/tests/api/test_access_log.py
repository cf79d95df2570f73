"""One access log line per request: method, route template, status, duration, request/user/project ids; no secrets."""

from __future__ import annotations

import json
import logging

from agentmesh_observability.logging import JsonFormatter


def lines(caplog) -> list[dict]:
    formatter = JsonFormatter("gateway")
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "agentmesh_gateway.access"]


async def test_each_request_logs_one_line_with_its_ids(api, admin, caplog) -> None:
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="agentmesh_gateway.access"):
        response = await api.get(f"/projects/{project}/agents", headers={**admin, "X-Request-ID": "req-1"})
        await api.get("/no/such/route")
    assert response.status_code == 200
    first, unmatched = lines(caplog)
    me = (await api.get("/auth/me", headers=admin)).json()["id"]
    assert first["method"] == "GET" and first["route"] == "/projects/{project_id}/agents"
    assert first["status"] == 200 and first["request_id"] == "req-1"
    assert first["user_id"] == me and first["project_id"] == project
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert unmatched["route"] == "unmatched" and unmatched["status"] == 404 and unmatched["user_id"] is None


async def test_tokens_and_tickets_never_reach_the_log(api, admin, caplog) -> None:
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    token = admin["Authorization"].removeprefix("Bearer ")
    ticket = (await api.post("/auth/stream-ticket", headers=admin)).json()["ticket"]
    with caplog.at_level(logging.DEBUG):
        await api.get(f"/projects/{project}/conversations/6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1/events",
                      params={"ticket": ticket})  # fmt: skip
        await api.get(f"/projects/{project}", headers=admin, params={"access_token": token})
        await api.post("/auth/login", json={"username": "admin", "password": "wrong-password"})
    # The test's own HTTP client (httpx) logs its URLs; everything the gateway logged is checked.
    formatter = JsonFormatter("gateway")
    text = "\n".join(formatter.format(r) for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert token not in text and ticket not in text and "wrong-password" not in text
    routes = [(line["route"], line["status"]) for line in lines(caplog)]
    assert ("/projects/{project_id}/conversations/{conversation_id}/events", 404) in routes
    assert ("/auth/login", 401) in routes
