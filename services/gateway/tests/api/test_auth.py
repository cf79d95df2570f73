"""Login and token validation."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import jwt
import pytest

from agentmesh_core.settings import LOCAL_JWT_SECRET


async def test_login_with_json_and_with_the_oauth2_form(api) -> None:
    for kwargs in (
        {"json": {"username": "admin", "password": "test-admin-password"}},
        {"data": {"username": "admin", "password": "test-admin-password", "grant_type": "password"}},
    ):
        response = await api.post("/auth/login", **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 300
        assert body["access_token"].count(".") == 2


@pytest.mark.parametrize(
    "body",
    [{"username": "admin", "password": "wrong"}, {"username": "nobody", "password": "test-admin-password"}],
)
async def test_wrong_credentials_are_401_json(api, body) -> None:
    response = await api.post("/auth/login", json=body)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthenticated", "message": "invalid username or password"}}


async def test_malformed_login_bodies_are_400(api) -> None:
    for content in (b"{oops", b"[]", b'{"username": 5}'):
        response = await api.post("/auth/login", content=content, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_argument"


def _token(claims: dict, key: str = LOCAL_JWT_SECRET, algorithm: str = "HS256") -> str:
    base = {"sub": "x", "role": "superadmin", "aud": "agentmesh-api", "iat": int(time.time())}
    return jwt.encode({**base, **claims}, key, algorithm=algorithm)


@pytest.mark.parametrize(
    "token",
    [
        _token({"exp": int(time.time()) - 10}),
        _token({"exp": int(time.time()) + 60}, key="forged-forged-forged-forged-forged-forged"),
        _token({"exp": int(time.time()) + 60}, key=None, algorithm="none"),
        _token({}),
        "garbage",
    ],
    ids=["expired", "forged", "alg-none", "no-exp", "garbage"],
)
async def test_bad_tokens_are_401_json(api, token) -> None:
    response = await api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_valid_token_for_a_deleted_user_is_401(api) -> None:
    # Well-signed, unexpired, but names no user.
    token = _token({"exp": int(time.time()) + 60, "sub": "00000000-0000-4000-8000-000000000000"})
    response = await api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_me_lists_memberships(api, admin, make_user) -> None:
    user_id, user = await make_user("carol")
    project = (await api.post("/projects", headers=admin, json={"name": "alpha"})).json()
    await api.post(f"/projects/{project['id']}/members", headers=admin, json={"user_id": user_id, "role": "user"})
    me = (await api.get("/auth/me", headers=user)).json()
    assert me["username"] == "carol"
    assert me["role"] == "user"
    assert me["memberships"] == [{"project_id": project["id"], "project_name": "alpha", "role": "user"}]


async def test_deactivated_user_cannot_log_in(api, admin, make_user, login) -> None:
    user_id, user = await make_user("dave")
    assert (await api.patch(f"/users/{user_id}", headers=admin, json={"is_active": False})).status_code == 200
    assert (await api.get("/auth/me", headers=user)).status_code == 401
    response = await api.post("/auth/login", json={"username": "dave", "password": "password-123"})
    assert response.status_code == 401


async def test_the_bootstrap_admin_is_made_once(state) -> None:
    assert await state.repository.count_users() == 1
    assert not await state.accounts.bootstrap_admin("admin2", "another-password")
    assert await state.repository.count_users() == 1


async def test_create_admin_cli(api, settings) -> None:
    env = {**os.environ, "AGENTMESH_DATABASE_URL": settings.database_url}
    command = [sys.executable, "-m", "agentmesh_gateway", "create-admin", "--username", "root", "--password"]
    made = await asyncio.to_thread(
        subprocess.run, [*command, "root-password"], env=env, capture_output=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stderr.splitlines()[-1])["message"] == "created superadmin 'root'"
    again = await asyncio.to_thread(
        subprocess.run, [*command, "root-password"], env=env, capture_output=True, timeout=60
    )
    assert again.returncode == 1
    short = await asyncio.to_thread(subprocess.run, [*command, "short"], env=env, capture_output=True, timeout=60)
    assert short.returncode == 2
    response = await api.post("/auth/login", json={"username": "root", "password": "root-password"})
    assert response.status_code == 200
    me = await api.get("/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.json()["role"] == "superadmin" and me.json()["last_login"] is not None
