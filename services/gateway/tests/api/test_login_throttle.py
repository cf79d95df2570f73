"""Login throttling: 429 with Retry-After and a JSON body, before the password hasher;
per account from all addresses, per address over all accounts; the real user gets
in once the account's window has moved. Also the bounded hashing executor."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from agentmesh_core.errors import ResourceExhausted
from agentmesh_gateway.accounts.passwords import Passwords
from agentmesh_gateway.app import create_app
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_gateway.state import GatewayState

ADMIN_PASSWORD = "test-admin-password"
ACCOUNT_WINDOW_SECONDS = 2


@pytest.fixture
def settings(settings: GatewaySettings) -> GatewaySettings:
    return settings.model_copy(
        update={
            "login_attempts_per_account": f"3 per {ACCOUNT_WINDOW_SECONDS} seconds",
            "login_failures_per_address": "5/minute",
            "login_refusal_delay_seconds": 0.0,  # the backoff pause has a test of its own
        }
    )


@pytest.fixture
async def app(settings: GatewaySettings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)  # the real state: logins touch only the database
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def client(app: FastAPI) -> Callable[[str], contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """client(address): a client whose requests come from that address."""

    def make(address: str) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://gateway")

    return make


def _state(app: FastAPI) -> GatewayState:
    return app.state.gateway


async def _login(api: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await api.post("/auth/login", json={"username": username, "password": password})


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json() == {
        "error": {"code": "resource_exhausted", "message": "too many login attempts; retry later"}
    }
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_an_account_under_attack_is_throttled_before_the_hasher(app, client) -> None:
    passwords = _state(app).accounts.passwords
    async with client("10.0.0.66") as attacker:
        statuses = [(await _login(attacker, "admin", f"guess-{i}")).status_code for i in range(3)]
        assert statuses == [401, 401, 401]
        reached = passwords.verifications
        for i in range(20):
            _assert_throttled(await _login(attacker, "admin", f"guess-{i}"))
        assert passwords.verifications == reached  # no refused attempt reached argon2


async def test_the_real_user_logs_in_from_elsewhere_once_the_account_window_moves(app, client) -> None:
    async with client("10.0.0.66") as attacker, client("192.0.2.10") as owner:
        for i in range(3):
            assert (await _login(attacker, "admin", f"guess-{i}")).status_code == 401
        # The account waits, from every address (the policy: it protects the password).
        refused = await _login(owner, "admin", ADMIN_PASSWORD)
        _assert_throttled(refused)
        assert int(refused.headers["retry-after"]) <= ACCOUNT_WINDOW_SECONDS
        await asyncio.sleep(ACCOUNT_WINDOW_SECONDS + 0.1)
        assert (await _login(owner, "admin", ADMIN_PASSWORD)).status_code == 200
        # The attacker's address is not blocked for others' accounts either (3 failures < 5).
        assert (await _login(attacker, "nobody", "x")).status_code == 401


async def test_a_success_forgives_the_accounts_failures(client) -> None:
    async with client("192.0.2.10") as owner:
        for _ in range(2):
            assert (await _login(owner, "admin", "typo")).status_code == 401
        assert (await _login(owner, "admin", ADMIN_PASSWORD)).status_code == 200  # the 3rd attempt
        # Without the success forgiving them, a 4th attempt within the window would be refused.
        for _ in range(2):
            assert (await _login(owner, "admin", "typo")).status_code == 401
        assert (await _login(owner, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_an_address_spraying_many_accounts_is_throttled_alone(client) -> None:
    async with client("10.0.0.77") as sprayer, client("192.0.2.20") as bystander:
        for i in range(5):
            assert (await _login(sprayer, f"user-{i}", "password")).status_code == 401
        _assert_throttled(await _login(sprayer, "user-99", "password"))
        _assert_throttled(await _login(sprayer, "admin", ADMIN_PASSWORD))  # even the right password waits
        assert (await _login(bystander, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_successful_logins_do_not_count_against_an_address(client) -> None:
    async with client("192.0.2.30") as office:
        for _ in range(8):  # more than the address's 5 failures a minute
            assert (await _login(office, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_the_hashing_executor_refuses_work_beyond_its_queue() -> None:
    passwords = Passwords(threads=1, queue=1)
    try:
        stored = await passwords.hash("correct horse")
        started = time.perf_counter()
        results = await asyncio.gather(*(passwords.verify(stored, "wrong") for _ in range(4)), return_exceptions=True)
        refused = [r for r in results if isinstance(r, ResourceExhausted)]
        assert len(refused) == 2 and all(r.retry_after for r in refused)
        assert results[:2] == [False, False]
        assert passwords.verifications == 2  # only the admitted ones reached argon2
        assert time.perf_counter() - started < 5
        assert await passwords.verify(stored, "correct horse") is True  # capacity comes back
    finally:
        passwords.close()


async def test_a_refusal_is_answered_after_the_backoff_pause(app, client) -> None:
    _state(app).settings.login_refusal_delay_seconds = 0.3
    async with client("10.0.0.88") as attacker:
        for i in range(3):
            assert (await _login(attacker, "admin", f"guess-{i}")).status_code == 401
        started = time.perf_counter()
        _assert_throttled(await _login(attacker, "admin", "guess-4"))
        assert time.perf_counter() - started >= 0.3
