"""A real browser (Debian's headless chromium) uses the gateway from another origin:
login through fetch (CORS preflight), stream tickets, a WebSocket that sends a
message and receives its tokens and reply, and an EventSource (with a ticket) on
the same conversation. The page posts what it saw to a collector this test runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from agentmesh_devstack.stack import Stack

pytestmark = pytest.mark.slow

PAGE = Path(__file__).parent / "browser" / "page.html"
PAGE_TIMEOUT_SECONDS = 150
# Debian's chromium, as FACTS.md measured it: headless, no sandbox (root in CI), nothing phoning home.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


class PageServer:
    """Serves the page on the browser origin and collects the results it posts back."""

    def __init__(self, port: int, config: dict) -> None:
        self.result: dict | None = None
        self.done = threading.Event()
        page = PAGE.read_text().replace("__CONFIG__", json.dumps(config))
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = page.encode()
                self.send_response(200 if self.path == "/page" else 404)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                owner.result = json.loads(self.rfile.read(length))
                owner.done.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it where apt is usable)")
    return path


@pytest.fixture
def setup(api: httpx.Client, admin: dict[str, str]) -> dict:
    """A project with an agent, and a plain member whose login the page types in."""
    username, password = f"browser-{uuid.uuid4().hex[:6]}", "browser-password-1"
    member = api.post("/users", headers=admin, json={"username": username, "password": password})
    assert member.status_code == 201, member.text
    project = api.post("/projects", headers=admin, json={"name": "browser"}).json()["id"]
    added = api.post(f"/projects/{project}/members", headers=admin, json={"user_id": member.json()["id"],
                                                                         "role": "user"})  # fmt: skip
    assert added.status_code in (200, 201), added.text
    agent = api.post(
        f"/projects/{project}/agents", headers=admin,
        json={"name": "helper", "system_prompt": "You are helpful.", "model_config": {"temperature": 0.0,
              "max_tokens": 16}},
    )  # fmt: skip
    assert agent.status_code == 201, agent.text
    return {"project": project, "agent": agent.json()["id"], "username": username, "password": password}


def run_page(chromium: str, origin_port: int, config: dict) -> dict:
    with PageServer(origin_port, config) as server, tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"http://127.0.0.1:{origin_port}/page"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            finished = server.done.wait(PAGE_TIMEOUT_SECONDS + 30)
        finally:
            browser.terminate()
            try:
                _, errors = browser.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                browser.kill()
                _, errors = browser.communicate()
        assert finished, f"the page never reported; chromium said: {errors.decode(errors='replace')[-2000:]}"
        assert server.result is not None
        return server.result


def test_a_browser_page_on_another_origin_streams_a_reply(
    mesh: Stack, chromium: str, browser_origin_port: int, setup: dict
) -> None:
    config = {"gateway": mesh.config.gateway_url, "timeout_ms": PAGE_TIMEOUT_SECONDS * 1000, **setup}
    result = run_page(chromium, browser_origin_port, config)
    assert result["errors"] == [], result
    assert result["origin"] != mesh.config.gateway_url and result["login_status"] == 200
    assert result["request_id_visible"] is True  # an exposed header
    ws, sse = result["ws"], result["sse"]
    assert ws["frames"][:2] == ["ready", "pong"] and ws["sent"]["request_id"] == "browser-1"
    assert ws["tokens"] and sse["tokens"], result
    assert ws["reply"]["content"] == "".join(ws["tokens"]) == "".join(sse["tokens"])
    assert sse["reply"]["id"] == ws["reply"]["id"]
    assert ws["reply"]["sender"] == {"type": "agent", "id": setup["agent"]}
