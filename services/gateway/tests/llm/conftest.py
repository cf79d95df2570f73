"""The inference routes over the real gateway database, with the in-memory inference service."""

from __future__ import annotations

import pytest

from agentmesh_gateway.clients.inference_fakes import FakeInference


@pytest.fixture
def inference(state) -> FakeInference:
    """The fake inference service behind the running app (routes read it per request)."""
    fake = FakeInference()
    state.inference = fake
    return fake


@pytest.fixture
async def world(api, admin, make_user, inference):
    """Project A (owner + member), project B (its own owner), an outsider, and an API key of each project."""
    owner_id, owner = await make_user("owner")
    member_id, member = await make_user("member")
    _, other_owner = await make_user("other")
    _, outsider = await make_user("outsider")
    a = (await api.post("/projects", headers=owner, json={"name": "a"})).json()["id"]
    b = (await api.post("/projects", headers=other_owner, json={"name": "b"})).json()["id"]
    added = await api.post(f"/projects/{a}/members", headers=owner, json={"user_id": member_id, "role": "user"})
    assert added.status_code == 201, added.text
    key_a = (await api.post(f"/projects/{a}/api-keys", headers=owner, json={"name": "ci"})).json()
    key_b = (await api.post(f"/projects/{b}/api-keys", headers=other_owner, json={"name": "ci"})).json()
    return {
        "a": a, "b": b, "owner": owner, "owner_id": owner_id, "member": member, "member_id": member_id,
        "other_owner": other_owner, "outsider": outsider, "admin": admin, "key_a": key_a, "key_b": key_b,
    }  # fmt: skip
