"""Schedules whose target is a job template, over REST (fake scheduler): shapes, roles, bad input."""

from __future__ import annotations

import pytest


@pytest.fixture
async def world(api, make_user):
    _, owner = await make_user("owner")
    member_id, member = await make_user("member")
    _, outsider = await make_user("outsider")
    project = (await api.post("/projects", headers=owner, json={"name": "p"})).json()["id"]
    await api.post(f"/projects/{project}/members", headers=owner, json={"user_id": member_id, "role": "user"})
    agent = (await api.post(f"/projects/{project}/agents", headers=owner, json={"name": "a"})).json()["id"]
    job = {
        "name": "nightly digest",
        "steps": [
            {"id": "fetch", "agent_id": agent, "input": "fetch the news"},
            {"id": "sum", "agent_id": agent, "input": "sum {{steps.fetch.output}}", "depends_on": ["fetch"],
             "retry": {"max_attempts": 2, "backoff_s": 1}},
        ],
    }  # fmt: skip
    return {
        "project": project, "agent": agent, "job": job, "owner": owner, "member": member, "outsider": outsider,
        "base": f"/projects/{project}/schedules",
    }  # fmt: skip


async def test_create_and_get_a_job_schedule(api, world) -> None:
    body = {"interval_seconds": 3600, "job": world["job"]}
    created = await api.post(world["base"], headers=world["owner"], json=body)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["agent_id"] is None and schedule["payload"] is None
    job = schedule["job"]
    assert job["name"] == "nightly digest" and [s["id"] for s in job["steps"]] == ["fetch", "sum"]
    assert job["steps"][1]["depends_on"] == ["fetch"] and job["steps"][1]["retry"]["max_attempts"] == 2
    assert job["steps"][0]["agent_id"] == world["agent"] and job["steps"][0]["input"] == "fetch the news"
    path = f"{world['base']}/{schedule['id']}"
    assert (await api.get(path, headers=world["member"])).json() == schedule
    assert (await api.get(path, headers=world["outsider"])).status_code == 404
    # A message schedule shows no job.
    message = {"agent_id": world["agent"], "interval_seconds": 60, "payload": "ping"}
    assert (await api.post(world["base"], headers=world["owner"], json=message)).json()["job"] is None


async def test_patch_replaces_the_job_template(api, world) -> None:
    created = await api.post(world["base"], headers=world["owner"], json={"cron": "0 6 * * *", "job": world["job"]})
    path = f"{world['base']}/{created.json()['id']}"
    one_step = {"name": "short", "steps": [{"id": "only", "agent_id": world["agent"], "input": "all of it"}]}
    response = await api.patch(path, headers=world["owner"], json={"job": one_step})
    assert response.status_code == 200, response.text
    assert response.json()["job"]["name"] == "short" and response.json()["cron"] == "0 6 * * *"
    assert (await api.patch(path, headers=world["member"], json={"job": one_step})).status_code == 403
    assert (await api.patch(path, headers=world["outsider"], json={"job": one_step})).status_code == 404
    refused = await api.patch(path, headers=world["owner"], json={"payload": "hi"})
    assert refused.status_code == 400 and "message schedules only" in refused.json()["error"]["message"]


async def test_members_may_not_create_and_outsiders_see_nothing(api, world) -> None:
    body = {"interval_seconds": 60, "job": world["job"]}
    assert (await api.post(world["base"], headers=world["member"], json=body)).status_code == 403
    assert (await api.post(world["base"], headers=world["outsider"], json=body)).status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"agent_id": "AGENT", "payload": "ping"}, "not both"),
        ({"payload": "ping"}, "not both"),
        ({"agent_id": "AGENT"}, "not both"),
        ({"job": None}, "give a target"),
        ({"job": {"name": "x", "steps": []}}, ""),
        ({"job": {"name": "x", "steps": [{"id": "a", "input": "x"}]}}, ""),
        ({"job": {"name": "x", "idempotency_key": "k", "steps": [{"id": "a", "agent_id": "AGENT", "input": "x"}]}}, ""),
    ],
)
async def test_both_neither_or_a_malformed_target_is_422(api, world, change, message) -> None:
    body = {"interval_seconds": 60, "job": world["job"], **change}
    body = {key: (world["agent"] if value == "AGENT" else value) for key, value in body.items()}
    if isinstance(body.get("job"), dict):
        for step in body["job"]["steps"]:
            if step.get("agent_id") == "AGENT":
                step["agent_id"] = world["agent"]
    if body.get("job") is None:
        body.pop("job", None)
    response = await api.post(world["base"], headers=world["owner"], json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_argument" and message in response.text


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([("a", "x", ["b"]), ("b", "y", ["a"])], "step 'a': dependency cycle"),
        ([("a", "x", []), ("a", "y", [])], "step 'a': duplicate step id"),
        ([("a", "x", ["zz"])], "step 'a': depends on unknown step 'zz'"),
        ([("a", "{{steps.zz.output}}", [])], "step 'a': input references unknown step 'zz'"),
    ],
)
async def test_a_bad_plan_is_400_naming_the_step(api, world, steps, message) -> None:
    job = {
        "name": "x",
        "steps": [{"id": i, "agent_id": world["agent"], "input": s, "depends_on": d} for i, s, d in steps],
    }
    response = await api.post(world["base"], headers=world["owner"], json={"interval_seconds": 60, "job": job})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_argument" and message in response.json()["error"]["message"]


async def test_more_than_50_steps_is_422(api, world) -> None:
    steps = [{"id": f"s{i}", "agent_id": world["agent"], "input": "x"} for i in range(51)]
    body = {"interval_seconds": 60, "job": {"name": "big", "steps": steps}}
    assert (await api.post(world["base"], headers=world["owner"], json=body)).status_code == 422


async def test_the_dashboard_lists_a_job_schedule(api, world) -> None:
    created = await api.post(world["base"], headers=world["owner"], json={"interval_seconds": 60, "job": world["job"]})
    response = await api.get(f"/projects/{world['project']}/dashboard", headers=world["member"])
    assert response.status_code == 200, response.text
    (shown,) = response.json()["schedules"]["items"]
    assert shown["id"] == created.json()["id"] and shown["agent_id"] is None
