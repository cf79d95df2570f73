"""Access kept between requests (adapters/access_cache.py) is forgotten on every replica at once.

Two gateways over one database: replica `a` (the `gateway` fixture) serves a
caller's requests, so it holds their session and role; the change is made
through replica `b`, or straight through the accounts store as any writer
would, and the very next request to `a` already sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agentmesh_gateway.adapters.accounts_repository import SqlAccountsRepository
from agentmesh_gateway.app import create_app
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_gateway.state import GatewayState

from ..conftest import USER_PASSWORD, StreamingASGITransport, bearer, with_fakes

LISTEN_WAIT_SECONDS = 30


async def _listening(state: GatewayState) -> None:
    assert state.access_listener is not None
    assert await state.access_listener.wait_listening(LISTEN_WAIT_SECONDS), "the access listener never listened"


@pytest.fixture
async def b(settings: GatewaySettings, state: GatewayState) -> AsyncIterator[httpx.AsyncClient]:
    """A second replica of the gateway over the same database."""
    app = create_app(settings, with_fakes)
    async with app.router.lifespan_context(app):
        await _listening(app.state.gateway)
        async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://b") as client:
            yield client


@pytest.fixture
async def shared(api: httpx.AsyncClient, state: GatewayState, admin: dict[str, str], make_user) -> dict:
    """A project with a plain member whose session and role replica `a` has served (and so holds)."""
    await _listening(state)
    project = (await api.post("/projects", headers=admin, json={"name": "shared"})).json()["id"]
    user_id, headers = await make_user("carol")
    added = await api.post(f"/projects/{project}/members", headers=admin, json={"user_id": user_id, "role": "user"})
    assert added.status_code == 201, added.text
    for _ in range(2):  # the second answer comes from what the first kept
        assert (await api.get(f"/projects/{project}", headers=headers)).status_code == 200
    return {"project": project, "user_id": user_id, "headers": headers}


async def test_a_member_removed_through_another_replica_is_refused_at_once(api, b, admin, shared) -> None:
    project, user_id = shared["project"], shared["user_id"]
    assert (await b.delete(f"/projects/{project}/members/{user_id}", headers=admin)).status_code == 204
    assert (await api.get(f"/projects/{project}", headers=shared["headers"])).status_code == 404


async def test_a_member_demoted_through_another_replica_loses_writes_at_once(api, b, admin, shared) -> None:
    project, user_id, headers = shared["project"], shared["user_id"], shared["headers"]
    promoted = await b.post(f"/projects/{project}/members", headers=admin, json={"user_id": user_id, "role": "admin"})
    assert promoted.status_code == 201
    assert (await api.patch(f"/projects/{project}", headers=headers, json={"description": "x"})).status_code == 200
    demoted = await b.post(f"/projects/{project}/members", headers=admin, json={"user_id": user_id, "role": "user"})
    assert demoted.status_code == 201
    assert (await api.patch(f"/projects/{project}", headers=headers, json={"description": "y"})).status_code == 403


async def test_a_logout_through_another_replica_ends_the_session_at_once(api, b, shared) -> None:
    assert (await b.post("/auth/logout", headers=shared["headers"])).status_code == 204
    assert (await api.get("/auth/me", headers=shared["headers"])).status_code == 401


async def test_deactivation_and_password_change_through_another_replica_apply_at_once(
    api, b, admin, shared, login
) -> None:
    user_id = shared["user_id"]
    changed = await b.patch(f"/users/{user_id}", headers=admin, json={"password": "another-password"})
    assert changed.status_code == 200
    assert (await api.get("/auth/me", headers=shared["headers"])).status_code == 401

    fresh = await login("carol", "another-password")
    assert (await api.get("/auth/me", headers=fresh)).status_code == 200
    assert (await b.patch(f"/users/{user_id}", headers=admin, json={"is_active": False})).status_code == 200
    assert (await api.get("/auth/me", headers=fresh)).status_code == 401


async def test_a_reused_refresh_token_seen_by_another_replica_ends_the_session_here(api, b) -> None:
    first = (await api.post("/auth/login", json={"username": "admin", "password": "test-admin-password"})).json()
    second = (await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await api.get("/auth/me", headers=headers)).status_code == 200

    reused = await b.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert (await api.get("/auth/me", headers=headers)).status_code == 401


async def test_a_role_change_through_another_replica_applies_at_once(api, b, admin, make_user) -> None:
    user_id, _ = await make_user("dave")
    assert (await b.patch(f"/users/{user_id}", headers=admin, json={"role": "superadmin"})).status_code == 200
    promoted = await bearer(api, "dave", USER_PASSWORD)
    assert (await api.get("/users", headers=promoted)).status_code == 200
    assert (await b.patch(f"/users/{user_id}", headers=admin, json={"role": "user"})).status_code == 200
    assert (await api.get("/users", headers=promoted)).status_code == 403


async def test_a_deleted_project_is_gone_at_once(api, b, admin, shared) -> None:
    project = shared["project"]
    assert (await api.get(f"/projects/{project}", headers=admin)).status_code == 200
    assert (await b.delete(f"/projects/{project}", headers=admin)).status_code == 204
    assert (await api.get(f"/projects/{project}", headers=shared["headers"])).status_code == 404
    assert (await api.get(f"/projects/{project}", headers=admin)).status_code == 404


async def test_a_change_written_through_the_store_elsewhere_applies_at_once(api, state, shared) -> None:
    # What any other writer of the accounts schema does (a script, a replica of another version):
    # the store announces in the writing transaction; no cache of this replica is involved.
    elsewhere = SqlAccountsRepository(state.database)
    assert await elsewhere.remove_member(shared["project"], shared["user_id"])
    assert (await api.get(f"/projects/{shared['project']}", headers=shared["headers"])).status_code == 404
