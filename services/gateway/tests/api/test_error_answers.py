"""How errors leave the gateway: a service's per-project limit is 429 with Retry-After;
an unexpected exception is a 500 JSON body and exactly one short log line that
carries the request id and no tenant data."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from agentmesh_core.errors import ResourceExhausted
from agentmesh_observability.logging import JsonFormatter

TENANT_DATA = "the-tenant's-secret-settings"


class JsonLines(logging.Handler):
    """Formats each record as it is emitted, while the request's context is still bound."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter_ = JsonFormatter("gateway")
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.formatter_.format(record)))


@pytest.fixture
def logs() -> Iterator[list[dict]]:
    handler = JsonLines()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)


async def _project(api, admin) -> str:
    response = await api.post("/projects", headers=admin, json={"name": "p"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_a_services_resource_exhausted_is_429_with_retry_after(api, state, admin, monkeypatch) -> None:
    project_id = await _project(api, admin)

    async def busy(*_args: object) -> None:
        raise ResourceExhausted("too many memory adds in progress; retry later", retry_after=2.2)

    monkeypatch.setattr(state.memory, "add_memories", busy)
    response = await api.post(f"/projects/{project_id}/memory", headers=admin, json={"documents": [{"content": "x"}]})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json() == {
        "error": {"code": "resource_exhausted", "message": "too many memory adds in progress; retry later"}
    }


async def test_a_backlogged_message_is_429_with_retry_after_and_the_json_error(api, state, admin, monkeypatch) -> None:
    """The agents service refuses a turn while too many wait (issue 7): the client is told when to retry."""
    project_id = await _project(api, admin)
    agent = await api.post(f"/projects/{project_id}/agents", headers=admin, json={"name": "busy"})
    assert agent.status_code == 201, agent.text
    message = "the agents are busy: too many messages are waiting for an answer; retry later"

    async def backlogged(*_args: object) -> None:
        raise ResourceExhausted(message, retry_after=5.0)

    monkeypatch.setattr(state.agents, "send_message", backlogged)
    response = await api.post(
        f"/projects/{project_id}/agents/{agent.json()['id']}/messages", headers=admin, json={"content": "hello"}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"error": {"code": "resource_exhausted", "message": message}}


async def test_an_unexpected_error_is_one_short_log_line_with_the_request_id(
    api, state, admin, monkeypatch, logs
) -> None:
    project_id = await _project(api, admin)

    async def broken(*_args: object) -> None:
        raise RuntimeError(f"INSERT ... parameters: {TENANT_DATA}")

    monkeypatch.setattr(state.memory, "search_memories", broken)
    logs.clear()
    response = await api.post(
        f"/projects/{project_id}/memory/search",
        headers={**admin, "X-Request-ID": "req-123"},
        json={"query": "anything"},
    )
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal", "message": "internal error"}}
    assert response.headers["x-request-id"] == "req-123"

    errors = [line for line in logs if line["level"] in ("error", "critical")]
    assert len(errors) == 1, errors
    [line] = errors
    assert line["request_id"] == "req-123"
    assert line["message"].startswith("POST /projects/{project_id}/memory/search failed: RuntimeError at ")
    assert "exception" not in line and len(json.dumps(line)) < 1000
    assert all(TENANT_DATA not in json.dumps(entry) for entry in logs)
