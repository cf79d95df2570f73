"""GET /projects/{p}/dashboard: every section in one call; a down or slow service marks its own."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentmesh_core.errors import Unavailable


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"dashboard_deadline_seconds": 0.5})


@pytest.fixture
async def project(api, admin):
    project = (await api.post("/projects", headers=admin, json={"name": "home"})).json()["id"]
    agent = (await api.post(f"/projects/{project}/agents", headers=admin, json={"name": "a"})).json()
    await api.post(f"/projects/{project}/agents/{agent['id']}/messages", headers=admin, json={"content": "q"})
    await api.post(f"/projects/{project}/memory", headers=admin, json={"content": "fact"})
    created = await api.post(
        f"/projects/{project}/schedules", headers=admin,
        json={"agent_id": agent["id"], "interval_seconds": 60, "payload": {"content": "tick"}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return project, agent["id"]


async def test_every_section_in_one_call(api, admin, project) -> None:
    project_id, agent_id = project
    response = await api.get(f"/projects/{project_id}/dashboard", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["project_id"] == project_id and body["project_name"] == "home"
    sections = ("agents", "recent_messages", "memory", "schedules", "running_jobs", "pending_approvals")
    assert {name: body[name]["status"] for name in sections} == dict.fromkeys(sections, "ok")
    [agent] = body["agents"]["items"]
    assert agent["id"] == agent_id and agent["status"] and agent["last_activity_at"]
    assert body["recent_messages"]["items"][0]["content"] == "q"
    assert body["memory"]["entries"] == 1 and body["memory"]["more"] is False
    [schedule] = body["schedules"]["items"]
    assert schedule["agent_id"] == agent_id and schedule["enabled"] is True and "next_run_at" in schedule
    assert body["running_jobs"]["items"] == [] and body["pending_approvals"]["items"] == []


class DownMemory:
    async def list_memories(self, *_args):
        raise Unavailable("memory service unavailable")


class SlowScheduler:
    async def list_schedules(self, *_args):
        await asyncio.sleep(30)

    async def list_jobs(self, *_args):
        await asyncio.sleep(30)


async def test_a_down_service_marks_its_section_only(api, admin, project, state) -> None:
    state.memory = DownMemory()
    body = (await api.get(f"/projects/{project[0]}/dashboard", headers=admin)).json()
    assert body["memory"] == {"status": "unavailable", "entries": 0, "more": False, "latest_at": None,
                              "error": "unavailable"}  # fmt: skip
    assert body["agents"]["status"] == "ok" and body["schedules"]["status"] == "ok"


async def test_a_slow_service_is_cut_at_the_deadline(api, admin, project, state) -> None:
    state.scheduler = SlowScheduler()
    started = time.monotonic()
    response = await api.get(f"/projects/{project[0]}/dashboard", headers=admin)
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 2, elapsed
    body = response.json()
    assert body["schedules"] == {"status": "unavailable", "items": [], "more": False, "error": "deadline_exceeded"}
    assert body["running_jobs"]["status"] == "unavailable"
    assert body["agents"]["status"] == "ok" and body["memory"]["status"] == "ok"


async def test_members_read_it_and_others_get_404(api, admin, project, make_user) -> None:
    member_id, member = await make_user("member")
    _, stranger = await make_user("stranger")
    path = f"/projects/{project[0]}/dashboard"
    await api.post(f"/projects/{project[0]}/members", headers=admin, json={"user_id": member_id, "role": "user"})
    assert (await api.get(path, headers=member)).status_code == 200
    refused = await api.get(path, headers=stranger)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert (await api.get(path)).status_code == 401
    assert (await api.get("/projects/nope/dashboard", headers=admin)).status_code == 404
