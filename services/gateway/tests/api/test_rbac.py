"""Project isolation and roles: non-members see nothing (404), users cannot write (403)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
async def world(api, admin, make_user):
    _, owner = await make_user("owner")
    member_id, member = await make_user("member")
    _, outsider = await make_user("outsider")
    project = (await api.post("/projects", headers=owner, json={"name": "p"})).json()["id"]
    added = await api.post(f"/projects/{project}/members", headers=owner, json={"user_id": member_id, "role": "user"})
    assert added.status_code == 201, added.text
    agent = (await api.post(f"/projects/{project}/agents", headers=owner, json={"name": "a"})).json()["id"]
    return {"project": project, "agent": agent, "owner": owner, "member": member, "outsider": outsider,
            "admin": admin}  # fmt: skip


def _routes(project: str, agent: str) -> list[tuple[str, str, dict | None]]:
    some = str(uuid.uuid4())
    return [
        ("GET", f"/projects/{project}", None),
        ("PATCH", f"/projects/{project}", {"name": "x"}),
        ("DELETE", f"/projects/{project}", None),
        ("GET", f"/projects/{project}/members", None),
        ("POST", f"/projects/{project}/members", {"user_id": some}),
        ("DELETE", f"/projects/{project}/members/{some}", None),
        ("GET", f"/projects/{project}/agents", None),
        ("POST", f"/projects/{project}/agents", {"name": "b"}),
        ("GET", f"/projects/{project}/agents/{agent}", None),
        ("PATCH", f"/projects/{project}/agents/{agent}", {"name": "c"}),
        ("DELETE", f"/projects/{project}/agents/{agent}", None),
        ("POST", f"/projects/{project}/agents/{agent}/messages", {"content": "hi"}),
        ("GET", f"/projects/{project}/messages", None),
        ("POST", f"/projects/{project}/messages/{some}/cancel", None),
        ("POST", f"/projects/{project}/topics/daily/messages", {"content": "hi"}),
        ("GET", f"/projects/{project}/conversations/{some}/events", None),
        ("POST", f"/projects/{project}/memory", {"content": "fact"}),
        ("GET", f"/projects/{project}/memory", None),
        ("DELETE", f"/projects/{project}/memory/{some}", None),
        ("POST", f"/projects/{project}/memory/search", {"query": "fact"}),
        ("GET", f"/projects/{project}/schedules", None),
        ("POST", f"/projects/{project}/schedules", {"agent_id": agent, "interval_seconds": 60}),
        ("GET", f"/projects/{project}/schedules/{some}", None),
        ("DELETE", f"/projects/{project}/schedules/{some}", None),
    ]


async def test_non_member_gets_404_on_every_project_route(api, world) -> None:
    for method, path, body in _routes(world["project"], world["agent"]):
        response = await api.request(method, path, headers=world["outsider"], json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


async def test_unknown_and_malformed_project_ids_are_404(api, world) -> None:
    for project in (str(uuid.uuid4()), "not-a-uuid"):
        response = await api.get(f"/projects/{project}/agents", headers=world["admin"])
        assert response.status_code == 404


async def test_project_user_reads_and_talks_but_cannot_write(api, world) -> None:
    project, agent, member = world["project"], world["agent"], world["member"]
    assert (await api.get(f"/projects/{project}/agents", headers=member)).status_code == 200
    sent = await api.post(f"/projects/{project}/agents/{agent}/messages", headers=member, json={"content": "hi"})
    assert sent.status_code == 202
    assert (await api.post(f"/projects/{project}/memory", headers=member, json={"content": "x"})).status_code == 201
    writes = [
        ("POST", f"/projects/{project}/agents", {"name": "b"}),
        ("PATCH", f"/projects/{project}/agents/{agent}", {"name": "c"}),
        ("DELETE", f"/projects/{project}/agents/{agent}", None),
        ("PATCH", f"/projects/{project}", {"name": "x"}),
        ("DELETE", f"/projects/{project}", None),
        ("GET", f"/projects/{project}/members", None),
        ("POST", f"/projects/{project}/schedules", {"agent_id": agent, "interval_seconds": 60}),
    ]
    for method, path, body in writes:
        response = await api.request(method, path, headers=member, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "permission_denied"


async def test_superadmin_sees_every_project(api, world) -> None:
    listed = (await api.get("/projects", headers=world["admin"])).json()["items"]
    assert world["project"] in {p["id"] for p in listed}
    assert (await api.get(f"/projects/{world['project']}/agents", headers=world["admin"])).status_code == 200
    assert world["project"] not in {
        p["id"] for p in (await api.get("/projects", headers=world["outsider"])).json()["items"]
    }


async def test_only_superadmin_manages_users(api, world) -> None:
    response = await api.post("/users", headers=world["owner"], json={"username": "eve", "password": "password-123"})
    assert response.status_code == 403
    assert (await api.get("/users", headers=world["owner"])).status_code == 403


async def test_deleting_a_project_purges_every_service(api, gateway, world) -> None:
    _, state = gateway
    response = await api.delete(f"/projects/{world['project']}", headers=world["owner"])
    assert response.status_code == 204
    for client in (state.agents, state.memory, state.scheduler):
        assert client.deleted_projects == [world["project"]]
    assert (await api.get(f"/projects/{world['project']}", headers=world["owner"])).status_code == 404


async def test_a_superadmin_who_is_not_a_member_may_still_write(api, world) -> None:
    project, admin = world["project"], world["admin"]
    created = await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "by-superadmin"})
    assert created.status_code == 201, created.text
    assert (await api.get(f"/projects/{project}", headers=admin)).json()["role"] is None


async def test_project_creation_can_be_reserved_for_superadmins(api, state, world) -> None:
    state.accounts.allow_user_projects = False
    refused = await api.post("/projects", headers=world["member"], json={"name": "mine"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert (await api.post("/projects", headers=world["admin"], json={"name": "ok"})).status_code == 201


async def test_members_are_listed_promoted_and_removed(api, world, make_user) -> None:
    project, owner = world["project"], world["owner"]
    members_path = f"/projects/{project}/members"
    listed = (await api.get(members_path, headers=owner)).json()
    assert sorted((m["username"], m["role"]) for m in listed["items"]) == [("member", "user"), ("owner", "admin")]
    assert listed["next_cursor"] is None
    member_id = next(m["user_id"] for m in listed["items"] if m["username"] == "member")
    promoted = await api.post(members_path, headers=owner, json={"user_id": member_id, "role": "admin"})
    assert promoted.status_code == 201 and promoted.json()["role"] == "admin"
    assert (
        await api.post(f"/projects/{project}/agents", headers=world["member"], json={"name": "x"})
    ).status_code == 201
    assert (await api.delete(f"{members_path}/{member_id}", headers=owner)).status_code == 204
    assert (await api.get(f"/projects/{project}", headers=world["member"])).status_code == 404
    assert (await api.delete(f"{members_path}/{member_id}", headers=owner)).status_code == 404


async def test_a_project_keeps_at_least_one_admin(api, world) -> None:
    project, owner = world["project"], world["owner"]
    me = (await api.get("/auth/me", headers=owner)).json()
    for response in (
        await api.delete(f"/projects/{project}/members/{me['id']}", headers=owner),
        await api.post(f"/projects/{project}/members", headers=owner, json={"user_id": me["id"], "role": "user"}),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "failed_precondition"


async def test_adding_an_unknown_user_is_404(api, world) -> None:
    for user_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = await api.post(
            f"/projects/{world['project']}/members", headers=world["owner"], json={"user_id": user_id}
        )
        assert response.status_code == 404, response.text
