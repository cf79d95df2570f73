"""The gateway over its real database (a fresh one per test), with in-memory service clients.

The app runs its real lifespan (migrations, bootstrap admin); only the gRPC
clients and the readiness probe are swapped for fakes. Requests go through a
streaming ASGI transport, so Server-Sent Events can be read as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp, Message

from agentmesh_devstack.templates import Build, migrations
from agentmesh_gateway.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_gateway.app import build_state, create_app
from agentmesh_gateway.clients.fakes import FakeAgents, FakeMemory, FakeScheduler, FakeTools
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_gateway.state import GatewayState

ADMIN_PASSWORD = "test-admin-password"
USER_PASSWORD = "password-123"
MAX_BODY_BYTES = 64 * 1024
_DONE = object()


class FakeReadiness:
    """Every dependency ready unless a test says otherwise."""

    def __init__(self) -> None:
        self.results = {name: True for name in ("database", "nats", "temporal", "agents", "memory", "inference",
                                                "scheduler")}  # fmt: skip

    async def check(self) -> dict[str, bool]:
        return dict(self.results)


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Like httpx.ASGITransport, but the body streams as the app sends it.

    httpx's own transport waits for the whole response, which never comes for
    an SSE stream. Closing the response tells the app the client went away.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(key.lower(), value) for key, value in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port or 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
        }
        body = await request.aread()
        disconnected = asyncio.Event()
        started: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        chunks: asyncio.Queue[object] = asyncio.Queue()
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set_result(message)
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await chunks.put(message["body"])
                if not message.get("more_body", False):
                    await chunks.put(_DONE)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except Exception as error:  # noqa: BLE001 - surfaced to the test below
                if not started.done():
                    started.set_exception(error)
            finally:
                await chunks.put(_DONE)

        task = asyncio.create_task(run())
        start = await started
        return httpx.Response(
            start["status"], headers=start.get("headers", []), stream=_Body(chunks, task, disconnected)
        )


class _Body(httpx.AsyncByteStream):
    def __init__(self, chunks: asyncio.Queue[object], task: asyncio.Task, disconnected: asyncio.Event) -> None:
        self._chunks, self._task, self._disconnected = chunks, task, disconnected

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._chunks.get()) is not _DONE:
            yield chunk  # type: ignore[misc]

    async def aclose(self) -> None:
        self._disconnected.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        self._task.cancel()


@pytest.fixture
def migrated_database_url(database_from_template: Callable[[str, Build], str]) -> str:
    """A fresh database with the gateway schema migrated: a clone of a template migrated once per session.

    The app's lifespan still runs its own migration, which finds the schema at head.
    """
    return database_from_template(SCHEMA, migrations(MIGRATIONS_DIR, SCHEMA))


@pytest.fixture
def settings(migrated_database_url: str) -> GatewaySettings:
    return GatewaySettings(
        database_url=migrated_database_url,
        admin_password=SecretStr(ADMIN_PASSWORD),
        access_token_ttl_seconds=300,
        max_body_bytes=MAX_BODY_BYTES,
        # Nothing listens here: a forgotten fake fails fast instead of reaching a real service.
        agents_service_addr="127.0.0.1:9",
        memory_service_addr="127.0.0.1:9",
        inference_service_addr="127.0.0.1:9",
        scheduler_service_addr="127.0.0.1:9",
    )


def with_fakes(settings: GatewaySettings) -> GatewayState:
    """The real state over the real database, with in-memory service clients."""
    state = build_state(settings)
    state.agents, state.memory, state.scheduler = FakeAgents(), FakeMemory(), FakeScheduler()
    state.tools = FakeTools(state.agents)
    state.readiness = FakeReadiness()
    return state


@pytest.fixture
async def gateway(settings: GatewaySettings) -> AsyncIterator[tuple[httpx.AsyncClient, GatewayState]]:
    app = create_app(settings, with_fakes)
    async with app.router.lifespan_context(app):
        transport = StreamingASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, app.state.gateway


@pytest.fixture
def api(gateway: tuple[httpx.AsyncClient, GatewayState]) -> httpx.AsyncClient:
    return gateway[0]


@pytest.fixture
def state(gateway: tuple[httpx.AsyncClient, GatewayState]) -> GatewayState:
    return gateway[1]


async def bearer(api: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await api.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def admin(api: httpx.AsyncClient) -> dict[str, str]:
    """Bearer headers of the bootstrap superadmin."""
    return await bearer(api, "admin", ADMIN_PASSWORD)


@pytest.fixture
def make_user(api: httpx.AsyncClient, admin: dict[str, str]):
    """make_user(name) -> (user id, bearer headers) of a new plain user."""

    async def make(username: str) -> tuple[str, dict[str, str]]:
        created = await api.post("/users", headers=admin, json={"username": username, "password": USER_PASSWORD})
        assert created.status_code == 201, created.text
        return created.json()["id"], await bearer(api, username, USER_PASSWORD)

    return make


@pytest.fixture
def login(api: httpx.AsyncClient):
    return lambda username, password: bearer(api, username, password)


@pytest.fixture
def admin_headers_for():
    """admin_headers_for(client) -> bearer headers of the bootstrap superadmin on that client."""
    return lambda api: bearer(api, "admin", ADMIN_PASSWORD)
