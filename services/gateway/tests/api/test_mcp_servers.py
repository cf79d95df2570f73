"""The MCP server routes over the fakes: Superadmins only, header values never returned, bad input a JSON 4xx."""

from __future__ import annotations

import pytest

SERVER = {"name": "search", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer s3cret"}}


@pytest.fixture
async def world(api, admin, make_user):
    _, owner = await make_user("owner")
    project = (await api.post("/projects", headers=owner, json={"name": "p"})).json()["id"]
    agent = (await api.post(f"/projects/{project}/agents", headers=owner, json={"name": "a"})).json()["id"]
    return {"project": project, "agent": agent, "owner": owner, "admin": admin}


async def test_superadmins_register_list_refresh_and_remove_servers(api, world, state) -> None:
    admin, owner = world["admin"], world["owner"]
    for method, path in (
        ("post", "/tools/mcp-servers"),
        ("get", "/tools/mcp-servers"),
        ("post", "/tools/mcp-servers/search/refresh"),
        ("delete", "/tools/mcp-servers/search"),
    ):
        kwargs = {"json": SERVER} if method == "post" else {}
        denied = await api.request(method.upper(), path, headers=owner, **kwargs)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied", denied.text
        assert (await api.request(method.upper(), path, **kwargs)).status_code == 401
    created = await api.post("/tools/mcp-servers", headers=admin, json=SERVER)
    assert created.status_code == 201, created.text
    assert created.json()["header_names"] == ["Authorization"] and created.json()["tool_count"] == 1
    assert (await api.post("/tools/mcp-servers", headers=admin, json=SERVER)).status_code == 409
    listed = await api.get("/tools/mcp-servers", headers=admin)
    assert [s["name"] for s in listed.json()] == ["search"]
    assert "s3cret" not in listed.text + created.text
    catalog = [t["name"] for t in (await api.get("/tools", headers=owner)).json()["items"]]
    assert "search.echo" in catalog
    granted = await api.put(f"/projects/{world['project']}/agents/{world['agent']}/tools", headers=owner,
                            json=[{"name": "search.echo"}])  # fmt: skip
    assert granted.status_code == 200, granted.text

    refreshed = await api.post("/tools/mcp-servers/search/refresh", headers=admin)
    assert refreshed.status_code == 200 and refreshed.json()["tools"] == ["search.echo"]
    state.tools.unreachable.add(SERVER["url"])
    down = await api.post("/tools/mcp-servers/search/refresh", headers=admin)
    assert down.status_code == 409 and down.json()["error"]["code"] == "failed_precondition"
    other = await api.post("/tools/mcp-servers", headers=admin, json={**SERVER, "name": "other"})
    assert other.status_code == 409

    assert (await api.delete("/tools/mcp-servers/search", headers=admin)).status_code == 204
    assert (await api.delete("/tools/mcp-servers/search", headers=admin)).status_code == 404
    assert (await api.post("/tools/mcp-servers/search/refresh", headers=admin)).status_code == 404
    assert (await api.delete("/tools/mcp-servers/Not%20A%20Name", headers=admin)).status_code == 404
    catalog = [t["name"] for t in (await api.get("/tools", headers=owner)).json()["items"]]
    assert "search.echo" not in catalog
    grants = await api.get(f"/projects/{world['project']}/agents/{world['agent']}/tools", headers=owner)
    assert grants.json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {**SERVER, "name": "Bad.Name"},
        {**SERVER, "name": ""},
        {**SERVER, "name": "x" * 33},
        {**SERVER, "url": "file:///etc/passwd"},
        {**SERVER, "url": "https://" + "a" * 2048},
        {**SERVER, "headers": {"X-Bad": "a\r\nInjected: 1"}},
        {**SERVER, "headers": {"Bad Header": "x"}},
        {**SERVER, "headers": {f"h{i}": "x" for i in range(17)}},
        {**SERVER, "headers": {"X": "a\x00b"}},
        {**SERVER, "extra": True},
        {"name": "search"},
        [SERVER],
    ],
)
async def test_bad_registrations_are_a_json_422(api, world, body) -> None:
    response = await api.post("/tools/mcp-servers", headers=world["admin"], json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_argument"
