"""The tool routes: catalog, grants, the audit, approvals — access rules and bad input, over the fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from agentmesh_gateway.schemas.approvals import ApprovalOut
from agentmesh_gateway.schemas.tools import ToolCallOut

MCP = {"name": "web.search", "description": "Search the web.", "parameters": {"type": "object"}}


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


def _approval(agent: str, status: str = "pending") -> ApprovalOut:
    now = datetime.now(UTC)
    return ApprovalOut(id=str(uuid.uuid4()), agent_id=agent, message_id=str(uuid.uuid4()),
                       conversation_id=str(uuid.uuid4()), tool_call_id=str(uuid.uuid4()), tool="calculator",
                       arguments={"expression": "1+1"}, status=status, decided_by=None, comment=None,
                       expires_at=now, created_at=now, decided_at=None)  # fmt: skip


async def test_anyone_reads_the_catalog_only_superadmins_change_it(api, world) -> None:
    listed = await api.get("/tools", headers=world["member"])
    assert listed.status_code == 200, listed.text
    names = [t["name"] for t in listed.json()["items"]]
    assert names == ["calculator", "current_time", "http_fetch", "memory_search", "memory_store"]
    assert [t["name"] for t in listed.json()["items"] if t["restricted"]] == ["http_fetch"]
    assert (await api.post("/tools", headers=world["owner"], json=MCP)).status_code == 403
    created = await api.post("/tools", headers=world["admin"], json={**MCP, "restricted": True})
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "mcp" and created.json()["restricted"] is True
    assert (await api.post("/tools", headers=world["admin"], json=MCP)).status_code == 409
    patched = await api.patch("/tools/calculator", headers=world["admin"], json={"enabled": False})
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    redefined = await api.patch("/tools/calculator", headers=world["admin"], json={"description": "evil"})
    assert redefined.status_code == 409 and redefined.json()["error"]["code"] == "failed_precondition"
    assert (await api.patch("/tools/calculator", headers=world["owner"], json={"enabled": True})).status_code == 403
    assert (await api.patch("/tools/no.such", headers=world["admin"], json={"enabled": True})).status_code == 404
    assert (await api.get("/tools")).status_code == 401


async def test_grants_are_read_by_members_and_set_by_admins(api, world) -> None:
    path = f"/projects/{world['project']}/agents/{world['agent']}/tools"
    body = [{"name": "current_time", "config": {"default_timezone": "UTC"}, "requires_approval": True}]
    assert (await api.put(path, headers=world["member"], json=body)).status_code == 403
    granted = await api.put(path, headers=world["owner"], json=body)
    assert granted.status_code == 200, granted.text
    (grant,) = granted.json()["items"]
    assert (grant["name"], grant["config"], grant["requires_approval"]) == ("current_time", {"default_timezone": "UTC"},
                                                                            True)  # fmt: skip
    assert grant["tool"]["kind"] == "builtin"
    read = await api.get(path, headers=world["member"])
    assert read.status_code == 200 and read.json()["items"] == granted.json()["items"]
    # A restricted tool: a project admin may not grant it, a superadmin may.
    await api.post("/tools", headers=world["admin"], json={**MCP, "restricted": True})
    refused = await api.put(path, headers=world["owner"], json=[{"name": "web.search"}])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert (await api.put(path, headers=world["admin"], json=[{"name": "web.search"}])).status_code == 200
    assert (await api.put(path, headers=world["owner"], json=[])).json()["items"] == []


async def test_members_list_approvals_admins_decide_once(api, state, world) -> None:
    project, owner, member = world["project"], world["owner"], world["member"]
    pending, done = _approval(world["agent"]), _approval(world["agent"], "denied")
    state.tools.approvals[project] = [pending, done]
    listed = await api.get(f"/projects/{project}/approvals?status=pending", headers=member)
    assert listed.status_code == 200 and [a["id"] for a in listed.json()["items"]] == [pending.id]
    decide = f"/projects/{project}/approvals/{pending.id}"
    assert (await api.post(decide, headers=member, json={"decision": "approve"})).status_code == 403
    decided = await api.post(decide, headers=owner, json={"decision": "approve", "comment": "ok"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved" and decided.json()["comment"] == "ok"
    again = await api.post(decide, headers=owner, json={"decision": "deny"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "failed_precondition"
    for approval_id in (str(uuid.uuid4()), "not-a-uuid"):
        unknown = await api.post(f"/projects/{project}/approvals/{approval_id}", headers=owner,
                                 json={"decision": "deny"})  # fmt: skip
        assert unknown.status_code == 404, unknown.text


async def test_the_audit_is_for_admins(api, state, world) -> None:
    project = world["project"]
    call = ToolCallOut(id=str(uuid.uuid4()), agent_id=world["agent"], message_id=str(uuid.uuid4()), tool="rm",
                       arguments={}, outcome="refused", duration_ms=0, error="tool not permitted", step=1,
                       created_at=datetime.now(UTC))  # fmt: skip
    state.tools.calls[project] = [call]
    listed = await api.get(f"/projects/{project}/tool-calls?agent_id={world['agent']}", headers=world["owner"])
    assert listed.status_code == 200, listed.text
    assert [(c["tool"], c["outcome"], c["error"]) for c in listed.json()["items"]] == [
        ("rm", "refused", "tool not permitted")
    ]
    assert (await api.get(f"/projects/{project}/tool-calls", headers=world["member"])).status_code == 403


async def test_non_members_get_404_on_every_tool_route(api, world) -> None:
    project, agent, some = world["project"], world["agent"], str(uuid.uuid4())
    for method, path, body in [
        ("GET", f"/projects/{project}/agents/{agent}/tools", None),
        ("PUT", f"/projects/{project}/agents/{agent}/tools", []),
        ("GET", f"/projects/{project}/tool-calls", None),
        ("GET", f"/projects/{project}/approvals", None),
        ("POST", f"/projects/{project}/approvals/{some}", {"decision": "approve"}),
    ]:
        response = await api.request(method, path, headers=world["outsider"], json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


def _bad_cases(project: str, agent: str) -> list[tuple[str, str, dict]]:
    raw = {"content": b"{not json", "headers": {"content-type": "application/json"}}
    grants = f"/projects/{project}/agents/{agent}/tools"
    decide = f"/projects/{project}/approvals/{uuid.uuid4()}"
    return [
        ("POST", "/tools", raw),
        ("POST", "/tools", {"json": {}}),
        ("POST", "/tools", {"json": {**MCP, "name": "Bad Name"}}),
        ("POST", "/tools", {"json": {**MCP, "name": "x" * 65}}),
        ("POST", "/tools", {"json": {**MCP, "kind": "builtin", "name": "calc2"}}),
        ("POST", "/tools", {"json": {**MCP, "kind": "magic"}}),
        ("POST", "/tools", {"json": {**MCP, "parameters": "not an object"}}),
        ("POST", "/tools", {"json": {**MCP, "description": ""}}),
        ("POST", "/tools", {"json": {**MCP, "description": "nul\x00"}}),
        ("POST", "/tools", {"json": {**MCP, "enabled": "yes"}}),
        ("POST", "/tools", {"json": {**MCP, "surprise": 1}}),
        ("PATCH", "/tools/calculator", raw),
        ("PATCH", "/tools/calculator", {"json": {"enabled": "no"}}),
        ("PATCH", "/tools/calculator", {"json": {"kind": "mcp"}}),
        ("PATCH", "/tools/calculator", {"json": {}}),
        ("PUT", grants, raw),
        ("PUT", grants, {"json": {"name": "calculator"}}),
        ("PUT", grants, {"json": [{"name": "no_such_tool"}]}),
        ("PUT", grants, {"json": [{"name": "Bad!"}]}),
        ("PUT", grants, {"json": [{"name": "calculator"}, {"name": "calculator"}]}),
        ("PUT", grants, {"json": [{"name": "calculator", "config": "x"}]}),
        ("PUT", grants, {"json": [{"name": "calculator", "requires_approval": "maybe"}]}),
        ("PUT", grants, {"json": [{"name": "calculator", "extra": 1}]}),
        ("PUT", grants, {"json": [{"name": f"t{i}"} for i in range(65)]}),
        ("GET", f"/projects/{project}/tool-calls?agent_id=nope", {}),
        ("GET", f"/projects/{project}/tool-calls?limit=0", {}),
        ("GET", f"/projects/{project}/approvals?status=lost", {}),
        ("GET", f"/projects/{project}/approvals?cursor=%%%", {}),
        ("POST", decide, raw),
        ("POST", decide, {"json": {}}),
        ("POST", decide, {"json": {"decision": "maybe"}}),
        ("POST", decide, {"json": {"decision": "approve", "comment": "x" * 3000}}),
    ]  # fmt: skip


async def test_bad_input_on_tool_routes_is_a_json_4xx(api, world) -> None:
    for method, path, kwargs in _bad_cases(world["project"], world["agent"]):
        headers = {**world["admin"], **kwargs.pop("headers", {})}
        response = await api.request(method, path, headers=headers, **kwargs)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"], response.text
