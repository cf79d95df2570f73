"""The real mesh for end-to-end tests: every service as its own process on
real PostgreSQL, NATS, Temporal, Qdrant local mode, vLLM (CPU) and the
packaged embedding model, on free ports under a temp run directory."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentmesh_devstack.ports import free_port
from agentmesh_devstack.stack import Stack, StackConfig, running_mesh

ADMIN = ("admin", "e2e-admin-password")
# The origin test_browser.py serves its page from: the gateway allows it (CORS).
BROWSER_ORIGIN_PORT = free_port()


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    run_dir: Path = tmp_path_factory.mktemp("mesh")
    config = StackConfig.ephemeral(
        run_dir,
        admin_username=ADMIN[0],
        admin_password=ADMIN[1],
        extra_env={
            "AGENTMESH_LOG_LEVEL": os.environ.get("AGENTMESH_LOG_LEVEL", "INFO"),
            "AGENTMESH_CORS_ALLOWED_ORIGINS": json.dumps([f"http://127.0.0.1:{BROWSER_ORIGIN_PORT}"]),
            # Agents whose system prompt holds an `agentmesh-script:` line follow it (scripted LLM over REST).
            "AGENTMESH_PROMPT_SCRIPTS": "true",
        },
    )
    with running_mesh(config) as stack:
        yield stack


@pytest.fixture(scope="session")
def browser_origin_port() -> int:
    """The port of the browser test's page origin (allowed by the gateway's CORS settings)."""
    return BROWSER_ORIGIN_PORT


@pytest.fixture(scope="session")
def api(mesh: Stack) -> Iterator[httpx.Client]:
    # Idle connections are dropped after 2 s, before the gateway's (uvicorn's 5 s) closes them: at httpx's
    # default of 5 s a request after a pause (a service restart) could go out on a connection the gateway was
    # closing, and fail as "Server disconnected without sending a response" (seen once in a clean-clone run).
    limits = httpx.Limits(keepalive_expiry=2.0)
    with httpx.Client(base_url=mesh.config.gateway_url, timeout=30, limits=limits) as client:
        yield client


def login(api: httpx.Client, username: str, password: str) -> dict[str, str]:
    """Bearer headers for a user."""
    response = api.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.fixture(scope="session")
def admin(api: httpx.Client) -> dict[str, str]:
    return login(api, *ADMIN)


@dataclass
class Event:
    id: str
    event: str
    data: dict


def read_events(
    client: httpx.Client, path: str, headers: dict[str, str], until: str, timeout: float = 120.0
) -> list[Event]:
    """Collect events from an SSE endpoint until one of type `until` arrives."""
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    with client.stream("GET", path, headers=headers, timeout=httpx.Timeout(10, read=timeout)) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {until!r} event within {timeout}s; got {[e.event for e in events]}")
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
                continue
            if "data" in fields:
                data = json.loads(fields["data"])
                event = Event(fields.get("id", ""), fields.get("event", "message"), data)
                events.append(event)
                if event.event == until:
                    return events
            fields = {}
    raise AssertionError(f"stream ended before a {until!r} event; got {[e.event for e in events]}")


@pytest.fixture(scope="session")
def sse():
    """The SSE reader, for tests (conftest helpers are not importable)."""
    return read_events


@pytest.fixture(scope="session")
def login_as(api: httpx.Client):
    """Log a user in and return bearer headers."""
    return lambda username, password: login(api, username, password)
