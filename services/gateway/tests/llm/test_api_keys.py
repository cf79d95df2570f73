"""Project API keys: admins make them (shown once), list them (never the secret), revoke them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_key_is_shown_once_and_listed_by_its_prefix(api, world) -> None:
    created = world["key_a"]
    assert created["key"].startswith("amk_") and len(created["key"]) > 40
    assert created["prefix"] == created["key"][:12] and created["name"] == "ci"
    listed = (await api.get(f"/projects/{world['a']}/api-keys", headers=world["owner"])).json()["items"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and created["key"] not in str(listed)


async def test_only_project_admins_manage_keys(api, world) -> None:
    a = world["a"]
    for headers, status in ((world["member"], 403), (world["outsider"], 404), (world["other_owner"], 404)):
        assert (await api.get(f"/projects/{a}/api-keys", headers=headers)).status_code == status
        assert (await api.post(f"/projects/{a}/api-keys", headers=headers, json={"name": "x"})).status_code == status
        deleted = await api.delete(f"/projects/{a}/api-keys/{world['key_a']['id']}", headers=headers)
        assert deleted.status_code == status
    assert (await api.get(f"/projects/{a}/api-keys", headers=world["admin"])).status_code == 200


async def test_a_revoked_key_gets_401(api, world) -> None:
    key = world["key_a"]
    assert (await api.get("/v1/models", headers=bearer(key["key"]))).status_code == 200
    assert (await api.delete(f"/projects/{world['a']}/api-keys/{key['id']}", headers=world["owner"])).status_code == 204
    refused = await api.get("/v1/models", headers=bearer(key["key"]))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert (await api.get(f"/projects/{world['a']}/api-keys", headers=world["owner"])).json()["items"] == []
    again = await api.delete(f"/projects/{world['a']}/api-keys/{key['id']}", headers=world["owner"])
    assert again.status_code == 404
    # A key of another project cannot be revoked through this one.
    other = await api.delete(f"/projects/{world['a']}/api-keys/{world['key_b']['id']}", headers=world["owner"])
    assert other.status_code == 404


async def test_an_expired_key_gets_401(api, world) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    key = (await api.post(f"/projects/{world['a']}/api-keys", headers=world["owner"],
                          json={"name": "short", "expires_at": soon})).json()  # fmt: skip
    await asyncio.sleep(1.2)
    assert (await api.get("/v1/models", headers=bearer(key["key"]))).status_code == 401


@pytest.mark.parametrize("secret", ["amk_" + "x" * 43, "amk_", "not-a-token", "Bearer", "eyJhbGciOiJub25lIn0.e30."])
async def test_unknown_or_garbage_tokens_get_401(api, world, secret) -> None:
    response = await api.get("/v1/models", headers=bearer(secret))
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


async def test_last_use_is_recorded(api, world, state) -> None:
    key = world["key_a"]
    await api.get("/v1/models", headers=bearer(key["key"]))
    await state.api_keys.drain()
    listed = (await api.get(f"/projects/{world['a']}/api-keys", headers=world["owner"])).json()["items"]
    assert listed[0]["last_used_at"] is not None


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"name": "x" * 101}, {}, {"name": "k", "expires_at": "yesterday"}, {"name": "k", "x": 1}]
)
async def test_bad_key_requests_are_422(api, world, body) -> None:
    response = await api.post(f"/projects/{world['a']}/api-keys", headers=world["owner"], json=body)
    assert response.status_code == 422, response.text


async def test_a_key_cannot_expire_in_the_past(api, world) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = await api.post(f"/projects/{world['a']}/api-keys", headers=world["owner"],
                              json={"name": "old", "expires_at": past})  # fmt: skip
    assert response.status_code == 400
