"""Every bad input is a 4xx with the JSON error body, never a 500."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
async def ids(api, admin):
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()["id"]
    return project, agent


def _cases(project: str, agent: str) -> list[tuple[str, str, dict]]:
    raw = {"content": b"{not json", "headers": {"content-type": "application/json"}}
    return [
        ("POST", "/projects", raw),
        ("POST", "/projects", {"json": {"name": 5}}),
        ("POST", "/projects", {"json": {"name": ""}}),
        ("POST", "/projects", {"json": {"name": "x", "unknown": 1}}),
        ("POST", "/users", {"json": {"username": "a", "password": "short"}}),
        ("POST", "/users", {"json": {"username": "valid_name", "password": "password-123", "role": "god"}}),
        ("POST", f"/projects/{project}/agents", raw),
        ("POST", f"/projects/{project}/agents", {"json": {"name": "x", "model_config": "hot"}}),
        ("POST", f"/projects/{project}/agents", {"json": {"name": "x", "status": "sleeping"}}),
        ("POST", f"/projects/{project}/agents/{agent}/messages", raw),
        ("POST", f"/projects/{project}/agents/{agent}/messages", {"json": {}}),
        ("POST", f"/projects/{project}/agents/{agent}/messages", {"json": {"content": None}}),
        ("POST", f"/projects/{project}/agents/{agent}/messages", {"json": {"content": "x", "conversation_id": "no"}}),
        ("GET", f"/projects/{project}/messages?status=lost", {}),
        ("GET", f"/projects/{project}/messages?status=delivered", {}),  # nothing sets it: not a status
        ("GET", f"/projects/{project}/messages?limit=0", {}),
        ("GET", f"/projects/{project}/messages?limit=abc", {}),
        ("GET", f"/projects/{project}/agents?cursor=%%%", {}),
        ("POST", f"/projects/{project}/memory", {"json": {}}),
        ("POST", f"/projects/{project}/memory", {"json": {"content": "a", "documents": [{"content": "b"}]}}),
        ("POST", f"/projects/{project}/memory", {"json": {"content": "a", "idempotency_key": ""}}),
        ("POST", f"/projects/{project}/memory", {"json": {"content": "a", "idempotency_key": "k" * 201}}),
        ("POST", f"/projects/{project}/memory", {"json": {"content": "a", "idempotency_key": 7}}),
        ("POST", f"/projects/{project}/memory/search", {"json": {"query": ""}}),
        ("POST", f"/projects/{project}/memory/search", {"json": {"query": "x", "k": 0}}),
        ("POST", f"/projects/{project}/memory/search", {"json": {"query": "x", "k": "many"}}),
        ("POST", f"/projects/{project}/schedules", {"json": {"agent_id": agent}}),
        ("POST", f"/projects/{project}/schedules", {"json": {"agent_id": agent, "cron": "* * * * *",
                                                             "interval_seconds": 5}}),
        ("POST", f"/projects/{project}/schedules", {"json": {"agent_id": "x", "interval_seconds": 5}}),
        ("POST", f"/projects/{project}/schedules", {"json": {"agent_id": agent, "interval_seconds": 0}}),
        ("POST", f"/projects/{project}/schedules", {"json": {"agent_id": agent, "run_at": "2030-01-01T00:00:00"}}),
        ("GET", f"/projects/{project}/conversations/{uuid.uuid4()}/events", {"headers": {"Last-Event-ID": "abc"}}),
    ]  # fmt: skip


async def test_bad_input_is_a_json_4xx(api, admin, ids) -> None:
    for method, path, kwargs in _cases(*ids):
        headers = {**admin, **kwargs.pop("headers", {})}
        response = await api.request(method, path, headers=headers, **kwargs)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"], response.text
        assert "Traceback" not in response.text


async def test_unknown_ids_are_404(api, admin, ids) -> None:
    project, _ = ids
    for path in (
        f"/projects/{project}/agents/{uuid.uuid4()}",
        f"/projects/{project}/schedules/{uuid.uuid4()}",
        f"/projects/{project}/agents/not-a-uuid",
        f"/projects/{project}/conversations/{uuid.uuid4()}/events",
    ):
        response = await api.get(path, headers=admin)
        assert response.status_code == 404, (path, response.text)  # fmt: skip


async def test_unknown_routes_and_methods_are_json(api, admin) -> None:
    response = await api.get("/nope", headers=admin)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = await api.put("/projects", headers=admin)
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


async def test_oversize_bodies_are_413(api, admin) -> None:
    big = {"name": "x", "description": "y" * (70 * 1024)}
    response = await api.post("/projects", headers=admin, json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_duplicate_username_is_409(api, admin) -> None:
    body = {"username": "frank", "password": "password-123"}
    assert (await api.post("/users", headers=admin, json=body)).status_code == 201
    response = await api.post("/users", headers=admin, json=body)
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_exists"


async def test_chunked_oversize_bodies_are_413(api, admin) -> None:
    async def chunks():
        for _ in range(80):
            yield b"x" * 1024

    response = await api.post("/projects", headers={**admin, "content-type": "application/json"}, content=chunks())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_garbage_bodies_never_cause_a_500(api, admin, ids) -> None:
    project, agent = ids
    routes = [
        "/projects",
        "/users",
        "/auth/login",
        f"/projects/{project}/members",
        f"/projects/{project}/agents",
        f"/projects/{project}/agents/{agent}/messages",
        f"/projects/{project}/memory",
        f"/projects/{project}/memory/search",
        f"/projects/{project}/schedules",
    ]
    bodies = [
        (b"null", "application/json"),
        (b"[]", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b'{"a":', "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (b"name=x", "text/plain"),
        (b"--b\r\nbroken", "multipart/form-data; boundary=b"),
    ]
    for path in routes:
        for content, content_type in bodies:
            response = await api.post(path, headers={**admin, "content-type": content_type}, content=content)
            assert 400 <= response.status_code < 500, (path, content[:20], response.status_code, response.text)
            assert set(response.json()["error"]) == {"code", "message"}, response.text


async def test_validation_errors_say_which_field(api, admin) -> None:
    response = await api.post("/projects", headers=admin, json={"name": 5, "settings": []})
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "invalid_argument"
    assert "name" in body["error"]["message"] and "settings" in body["error"]["message"]


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b'{"name":', "application/json", "the body is not valid JSON (at character 8: Expecting value)"),
        (b"[]", "application/json", "the body must be a JSON object"),
        (b'"p"', None, "the body must be a JSON object"),
        (b"name=p", "application/x-www-form-urlencoded",
         "the body must be a JSON object sent as application/json, not application/x-www-form-urlencoded"),
    ],
)  # fmt: skip
async def test_a_body_that_is_not_a_json_object_says_so(api, admin, content, content_type, message) -> None:
    headers = {**admin, "content-type": content_type} if content_type else admin
    response = await api.post("/projects", headers=headers, content=content)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == {"code": "invalid_argument", "message": message}


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=" + "c" * 300])
async def test_bad_paging_is_422(api, admin, query) -> None:
    response = await api.get(f"/projects?{query}", headers=admin)
    assert response.status_code == 422, response.text


async def test_bad_cursor_is_400(api, admin) -> None:
    response = await api.get("/projects?cursor=garbage", headers=admin)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_argument"
