"""Resource shapes, pagination and the SSE framing."""

from __future__ import annotations

import json


async def test_lists_page_with_cursors(api, admin) -> None:
    for i in range(5):
        assert (await api.post("/projects", headers=admin, json={"name": f"p{i}"})).status_code == 201
    first = (await api.get("/projects", headers=admin, params={"limit": 3})).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = (await api.get("/projects", headers=admin, params={"limit": 3, "cursor": first["next_cursor"]})).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    names = [p["name"] for p in first["items"] + second["items"]]
    assert names == [f"p{i}" for i in range(5)]


async def test_agent_round_trip_keeps_model_config(api, admin) -> None:
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    body = {"name": "a", "system_prompt": "Be brief.", "model_config": {"temperature": 0.2}, "topics": ["news"]}
    created = await api.post(f"/projects/{project}/agents", headers=admin, json=body)
    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["model_config"] == {"temperature": 0.2} and agent["topics"] == ["news"]
    patched = await api.patch(f"/projects/{project}/agents/{agent['id']}", headers=admin, json={"status": "paused"})
    assert patched.json()["status"] == "paused"


async def test_message_is_accepted_with_202(api, admin) -> None:
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()["id"]
    response = await api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": "hi"})
    assert response.status_code == 202
    assert set(response.json()) == {"message_id", "conversation_id", "status"}


async def test_sse_frames_events_and_resumes_after_last_event_id(api, gateway, admin) -> None:
    _, state = gateway
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()["id"]
    sent = (await api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": "q"})).json()
    conversation = sent["conversation_id"]
    state.agents.events[conversation] = [
        {"sequence": 7, "type": "token", "text": "Hel"},
        {"sequence": 8, "type": "token", "text": "lo"},
        {"sequence": 9, "type": "reply", "reply": {"content": "Hello"}},
    ]
    path = f"/projects/{project}/conversations/{conversation}/events"
    async with api.stream("GET", path, headers={**admin, "Last-Event-ID": "7"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frames: list[dict[str, str]] = []
        frame: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line:
                key, _, value = line.partition(": ")
                frame[key] = value
            elif frame:
                frames.append(frame)
                frame = {}
                if frames[-1]["event"] == "reply":
                    break
    assert [(f["id"], f["event"]) for f in frames] == [("8", "token"), ("9", "reply")]
    assert json.loads(frames[1]["data"])["reply"]["content"] == "Hello"


async def test_health_and_metrics_need_no_auth(api) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    await api.get("/projects")
    metrics = (await api.get("/metrics")).text
    assert 'agentmesh_http_requests_total{method="GET",route="/projects",status="401"}' in metrics


async def test_openapi_docs_are_served(api) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert "/projects/{project_id}/agents/{agent_id}/messages" in spec["paths"]
    assert (await api.get("/docs")).status_code == 200
