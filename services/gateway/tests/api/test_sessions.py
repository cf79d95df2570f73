"""Token lifecycle: refresh rotation and reuse detection, logout, and revocation on
password change and deactivation."""

from __future__ import annotations

import httpx

ADMIN_PASSWORD = "test-admin-password"
USER_PASSWORD = "password-123"


async def _login(api: httpx.AsyncClient, username: str, password: str) -> dict:
    response = await api.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _me(api: httpx.AsyncClient, tokens: dict) -> int:
    return (await api.get("/auth/me", headers=_bearer(tokens))).status_code


async def _refresh(api: httpx.AsyncClient, tokens: dict) -> httpx.Response:
    return await api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})


async def test_login_answers_the_old_fields_plus_a_refresh_token(api) -> None:
    body = await _login(api, "admin", ADMIN_PASSWORD)
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 300
    assert len(body["refresh_token"]) >= 40


async def test_refresh_rotates_and_each_refresh_token_works_once(api) -> None:
    first = await _login(api, "admin", ADMIN_PASSWORD)
    refreshed = await _refresh(api, first)
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert await _me(api, second) == 200
    third = (await _refresh(api, second)).json()
    assert await _me(api, third) == 200


async def test_a_reused_refresh_token_revokes_the_whole_session(api) -> None:
    first = await _login(api, "admin", ADMIN_PASSWORD)
    other_session = await _login(api, "admin", ADMIN_PASSWORD)
    second = (await _refresh(api, first)).json()

    reused = await _refresh(api, first)  # the stolen copy, presented after the owner used it
    assert reused.status_code == 401
    assert reused.json() == {"error": {"code": "unauthenticated", "message": "invalid refresh token"}}
    # Everything of that session is dead: the newest access token and refresh token too.
    assert await _me(api, second) == 401
    assert (await _refresh(api, second)).status_code == 401
    # Another session of the same user is untouched.
    assert await _me(api, other_session) == 200


async def test_unknown_and_malformed_refresh_tokens_are_refused(api) -> None:
    assert (await api.post("/auth/refresh", json={"refresh_token": "nope"})).status_code == 401
    assert (await api.post("/auth/refresh", json={})).status_code == 422
    assert (await api.post("/auth/refresh", json={"refresh_token": "x" * 300})).status_code == 422


async def test_logout_revokes_this_session_only(api) -> None:
    here = await _login(api, "admin", ADMIN_PASSWORD)
    elsewhere = await _login(api, "admin", ADMIN_PASSWORD)
    response = await api.post("/auth/logout", headers=_bearer(here))
    assert response.status_code == 204
    assert await _me(api, here) == 401
    assert (await api.get("/auth/me", headers=_bearer(here))).json()["error"]["message"] == "token revoked"
    assert (await _refresh(api, here)).status_code == 401
    assert await _me(api, elsewhere) == 200
    assert (await api.post("/auth/logout", headers=_bearer(here))).status_code == 401
    assert (await api.post("/auth/logout")).status_code == 401


async def test_logout_everywhere_revokes_every_session(api) -> None:
    sessions = [await _login(api, "admin", ADMIN_PASSWORD) for _ in range(3)]
    assert (await api.post("/auth/logout?everywhere=true", headers=_bearer(sessions[0]))).status_code == 204
    assert [await _me(api, s) for s in sessions] == [401, 401, 401]
    assert await _me(api, await _login(api, "admin", ADMIN_PASSWORD)) == 200


async def test_a_password_change_revokes_the_tokens_issued_before(api, admin) -> None:
    created = await api.post("/users", headers=admin, json={"username": "dora", "password": USER_PASSWORD})
    user_id = created.json()["id"]
    before = await _login(api, "dora", USER_PASSWORD)
    assert await _me(api, before) == 200

    changed = await api.patch(f"/users/{user_id}", headers=admin, json={"password": "a-new-password"})
    assert changed.status_code == 200
    assert await _me(api, before) == 401
    assert (await _refresh(api, before)).status_code == 401
    after = await _login(api, "dora", "a-new-password")
    assert await _me(api, after) == 200
    assert await _me(api, {"access_token": admin["Authorization"].removeprefix("Bearer ")}) == 200


async def test_deactivation_revokes_tokens_for_good(api, admin) -> None:
    created = await api.post("/users", headers=admin, json={"username": "eve", "password": USER_PASSWORD})
    user_id = created.json()["id"]
    before = await _login(api, "eve", USER_PASSWORD)

    assert (await api.patch(f"/users/{user_id}", headers=admin, json={"is_active": False})).status_code == 200
    assert await _me(api, before) == 401
    assert (await _refresh(api, before)).status_code == 401
    # Reactivating the account does not bring the old tokens back.
    assert (await api.patch(f"/users/{user_id}", headers=admin, json={"is_active": True})).status_code == 200
    assert await _me(api, before) == 401
    assert await _me(api, await _login(api, "eve", USER_PASSWORD)) == 200


async def test_a_role_change_keeps_sessions(api, admin) -> None:
    created = await api.post("/users", headers=admin, json={"username": "fay", "password": USER_PASSWORD})
    tokens = await _login(api, "fay", USER_PASSWORD)
    promoted = await api.patch(f"/users/{created.json()['id']}", headers=admin, json={"role": "superadmin"})
    assert promoted.status_code == 200
    # Authorization reads the role from the database, so the session simply gains it.
    me = await api.get("/auth/me", headers=_bearer(tokens))
    assert me.status_code == 200 and me.json()["role"] == "superadmin"
