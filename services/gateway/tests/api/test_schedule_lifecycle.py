"""PATCH and trigger of schedules over REST (fake scheduler): shapes, roles, bad input."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
async def world(api, admin, make_user):
    _, owner = await make_user("owner")
    member_id, member = await make_user("member")
    _, outsider = await make_user("outsider")
    project = (await api.post("/projects", headers=owner, json={"name": "p"})).json()["id"]
    await api.post(f"/projects/{project}/members", headers=owner, json={"user_id": member_id, "role": "user"})
    agent = (await api.post(f"/projects/{project}/agents", headers=owner, json={"name": "a"})).json()["id"]
    body = {"agent_id": agent, "interval_seconds": 60, "payload": "ping", "enabled": False}
    created = await api.post(f"/projects/{project}/schedules", headers=owner, json=body)
    assert created.status_code == 201, created.text
    return {"project": project, "schedule": created.json(), "owner": owner, "member": member, "outsider": outsider}


async def test_patch_enables_and_changes_only_the_given_fields(api, world) -> None:
    schedule, owner = world["schedule"], world["owner"]
    assert (schedule["overlap_policy"], schedule["catchup_window_seconds"]) == ("skip", 3600)
    path = f"/projects/{world['project']}/schedules/{schedule['id']}"
    response = await api.patch(
        path, headers=owner, json={"enabled": True, "cron": "0 9 * * *", "overlap_policy": "buffer_one"}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["enabled"] is True and updated["cron"] == "0 9 * * *" and updated["interval_seconds"] is None
    assert updated["overlap_policy"] == "buffer_one" and updated["payload"] == "ping"
    assert (await api.get(path, headers=world["member"])).json() == updated


async def test_trigger_runs_now(api, world) -> None:
    path = f"/projects/{world['project']}/schedules/{world['schedule']['id']}/trigger"
    response = await api.post(path, headers=world["owner"])
    assert response.status_code == 202, response.text
    (run,) = response.json()["recent_runs"]
    assert run["outcome"].startswith("sent message ") and run["ran_at"]


async def test_members_may_not_and_outsiders_see_nothing(api, world) -> None:
    base = f"/projects/{world['project']}/schedules/{world['schedule']['id']}"
    for headers, status in ((world["member"], 403), (world["outsider"], 404)):
        assert (await api.patch(base, headers=headers, json={"enabled": True})).status_code == status
        assert (await api.post(f"{base}/trigger", headers=headers)).status_code == status


@pytest.mark.parametrize(
    "body",
    [
        {"cron": "* * * * *", "interval_seconds": 5},
        {"enabled": None},
        {"enabled": "yes"},
        {"overlap_policy": "whenever"},
        {"catchup_window_seconds": 5},
        {"interval_seconds": 0},
        {"run_at": "2030-01-01T00:00:00"},
        {"timezone": ""},
        {"name": "x"},
    ],
)
async def test_bad_patches_are_422(api, world, body) -> None:
    path = f"/projects/{world['project']}/schedules/{world['schedule']['id']}"
    response = await api.patch(path, headers=world["owner"], json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_argument"


async def test_unknown_schedules_are_404(api, world) -> None:
    for schedule_id in (str(uuid.uuid4()), "not-a-uuid"):
        base = f"/projects/{world['project']}/schedules/{schedule_id}"
        assert (await api.patch(base, headers=world["owner"], json={"enabled": True})).status_code == 404
        assert (await api.post(f"{base}/trigger", headers=world["owner"])).status_code == 404
