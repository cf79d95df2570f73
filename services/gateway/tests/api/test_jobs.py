"""Jobs over REST (fake scheduler): shapes, roles, bad input naming the step."""

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
    return {"project": project, "agent": agent, "owner": owner, "member": member, "outsider": outsider}


def _job(agent: str, **changes: object) -> dict:
    body: dict = {
        "name": "daily report",
        "steps": [
            {"id": "data", "agent_id": agent, "input": "numbers please"},
            {"id": "analysis", "agent_id": agent, "input": {"task": "trends"}},
            {"id": "compose", "agent_id": agent, "input": "{{steps.data.output}} / {{steps.analysis.output}}",
             "depends_on": ["data", "analysis"], "retry": {"max_attempts": 3, "backoff_s": 2}, "timeout_s": 60},
        ],
    }  # fmt: skip
    body.update(changes)
    return body


async def test_create_get_list_cancel(api, world) -> None:
    base, owner = f"/projects/{world['project']}/jobs", world["owner"]
    created = await api.post(base, headers=owner, json=_job(world["agent"], idempotency_key="nightly"))
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["workflow_id"] == f"project-{world['project']}-job-{job['id']}" and job["status"] == "pending"
    assert job["temporal_ui_url"].endswith(job["workflow_id"])
    compose = job["steps"][2]
    assert compose["depends_on"] == ["data", "analysis"] and compose["retry"] == {"max_attempts": 3, "backoff_s": 2}
    assert compose["timeout_s"] == 60 and compose["status"] == "pending" and compose["attempts"] == 0
    assert job["steps"][0]["retry"] == {"max_attempts": 1, "backoff_s": 5} and job["steps"][0]["timeout_s"] == 600
    again = await api.post(base, headers=owner, json=_job(world["agent"], idempotency_key="nightly"))
    assert again.json()["id"] == job["id"]

    member = world["member"]
    assert (await api.get(f"{base}/{job['id']}", headers=member)).json() == job
    assert [j["id"] for j in (await api.get(base, headers=member)).json()["items"]] == [job["id"]]
    assert (await api.get(f"{base}?status=completed", headers=member)).json()["items"] == []
    cancelled = await api.post(f"{base}/{job['id']}/cancel", headers=owner)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert [j["id"] for j in (await api.get(f"{base}?status=cancelled", headers=member)).json()["items"]] == [job["id"]]


async def test_roles(api, world) -> None:
    base = f"/projects/{world['project']}/jobs"
    job = (await api.post(base, headers=world["owner"], json=_job(world["agent"]))).json()
    assert (await api.post(base, headers=world["member"], json=_job(world["agent"]))).status_code == 403
    assert (await api.post(f"{base}/{job['id']}/cancel", headers=world["member"])).status_code == 403
    for method, path, body in (
        ("POST", base, _job(world["agent"])),
        ("GET", base, None),
        ("GET", f"{base}/{job['id']}", None),
        ("POST", f"{base}/{job['id']}/cancel", None),
    ):
        response = await api.request(method, path, headers=world["outsider"], json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


def _steps(*steps: dict) -> dict:
    return {"name": "x", "steps": list(steps)}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (lambda a: _steps({"id": "a", "agent_id": a, "input": "x", "depends_on": ["b"]},
                          {"id": "b", "agent_id": a, "input": "y", "depends_on": ["a"]}), 400,
         "step 'a': dependency cycle"),
        (lambda a: _steps({"id": "a", "agent_id": a, "input": "x"}, {"id": "a", "agent_id": a, "input": "y"}), 400,
         "step 'a': duplicate step id"),
        (lambda a: _steps({"id": "a", "agent_id": a, "input": "{{steps.zz.output}}"}), 400,
         "step 'a': input references unknown step 'zz'"),
        (lambda a: _steps({"id": "a", "agent_id": a, "input": "x", "depends_on": ["nope"]}), 400,
         "step 'a': depends on unknown step 'nope'"),
        (lambda a: _steps(*({"id": f"s{i}", "agent_id": a, "input": "x"} for i in range(51))), 422, "steps"),
        (lambda a: _steps(), 422, "steps"),
        (lambda a: _steps({"id": "bad id", "agent_id": a, "input": "x"}), 422, "steps.0.id"),
        (lambda a: _steps({"id": "a", "agent_id": "x", "input": "x"}), 422, "agent_id"),
        (lambda a: _steps({"id": "a", "agent_id": a}), 422, "input"),
        (lambda a: _steps({"id": "a", "agent_id": a, "input": "x", "retry": {"max_attempts": 0}}), 422, "max_attempts"),
        (lambda a: _steps({"id": "a", "agent_id": a, "input": "x", "timeout_s": 0}), 422, "timeout_s"),
        (lambda a: _steps({"id": "a", "agent_id": a, "input": "x", "colour": "red"}), 422, "colour"),
        (lambda a: {"steps": [{"id": "a", "agent_id": a, "input": "x"}]}, 422, "name"),
    ],
)  # fmt: skip
async def test_bad_jobs_are_json_4xx(api, world, body, status, message) -> None:
    response = await api.post(f"/projects/{world['project']}/jobs", headers=world["owner"], json=body(world["agent"]))
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


async def test_bad_reads_and_unknown_jobs(api, world) -> None:
    base, owner = f"/projects/{world['project']}/jobs", world["owner"]
    assert (await api.get(f"{base}?status=lost", headers=owner)).status_code == 422
    for job_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert (await api.get(f"{base}/{job_id}", headers=owner)).status_code == 404
        assert (await api.post(f"{base}/{job_id}/cancel", headers=owner)).status_code == 404
    for content, kind in ((b"{not json", "application/json"), (b"[]", "application/json"), (b"x", "text/plain")):
        response = await api.post(base, headers={**owner, "content-type": kind}, content=content)
        assert 400 <= response.status_code < 500 and set(response.json()["error"]) == {"code", "message"}
