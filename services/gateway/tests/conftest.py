"""The gateway over its real database, with in-memory service clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from agentmesh_core.tokens import AccessTokens
from agentmesh_db.database import Database
from agentmesh_gateway.accounts.repository import AccountsRepository
from agentmesh_gateway.app import bootstrap_admin, create_app
from agentmesh_gateway.clients.fakes import FakeAgentsClient, FakeMemoryClient, FakeSchedulerClient
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_gateway.state import GatewayState

ADMIN_PASSWORD = "test-admin-password"


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, GatewayState]]:
    settings = GatewaySettings(
        database_url=database_url, admin_password=SecretStr(ADMIN_PASSWORD), max_body_bytes=64 * 1024
    )
    database = Database(database_url, pool_size=2)
    state = GatewayState(
        settings=settings,
        database=database,
        accounts=AccountsRepository(database),
        tokens=AccessTokens(settings.jwt_secret.get_secret_value(), 300),
        agents=FakeAgentsClient(),
        memory=FakeMemoryClient(),
        scheduler=FakeSchedulerClient(),
    )
    app = create_app(settings, state)
    state.accounts.migrate()
    await bootstrap_admin(state)
    app.state.gateway = state
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client, state
    database.dispose()


@pytest.fixture
def api(gateway) -> httpx.AsyncClient:
    return gateway[0]


async def bearer(api: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await api.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def admin(api: httpx.AsyncClient) -> dict[str, str]:
    return await bearer(api, "admin", ADMIN_PASSWORD)


@pytest.fixture
def make_user(api: httpx.AsyncClient, admin: dict[str, str]):
    async def make(username: str) -> tuple[str, dict[str, str]]:
        created = await api.post("/users", headers=admin, json={"username": username, "password": "password-123"})
        assert created.status_code == 201, created.text
        return created.json()["id"], await bearer(api, username, "password-123")

    return make


@pytest.fixture
def login(api: httpx.AsyncClient):
    return lambda username, password: bearer(api, username, password)
