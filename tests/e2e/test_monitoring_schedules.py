"""Schedule failures reach the monitor on the real mesh (issue 13, item 6): the scheduler,
which has no connection to NATS, reports each failed run through the agents service
(AgentService.ReportSystemEvent), which publishes it on AM_SYSTEM; the default rule, three
failed runs within an hour, posts one alert to the project's monitoring conversation and
pauses no agent, even where the project allows pausing.

The schedule's target agent is deleted after the schedule is made, so each triggered run
fails with "agent not found" (a paused agent's mailbox keeps its messages: no failure).
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

FAILED_RUNS = 3  # the default rule: 3 failed schedule runs within an hour


def _agent(api: httpx.Client, admin: dict[str, str], project: str, **body: object) -> str:
    created = api.post(f"/projects/{project}/agents", headers=admin, json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _runs(api: httpx.Client, admin: dict[str, str], path: str) -> list[dict]:
    shown = api.get(path, headers=admin)
    assert shown.status_code == 200, shown.text
    return shown.json()["recent_runs"]


def test_failed_schedule_runs_alert_the_admins_and_pause_nobody(api: httpx.Client, admin: dict[str, str]) -> None:
    project = api.post("/projects", headers=admin, json={"name": f"e2e-schedmon-{uuid.uuid4().hex[:6]}"})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    monitor = _agent(
        api, admin, project_id, name="monitor", agent_type="monitor", model_config={"pause_offenders": True}
    )
    target = _agent(api, admin, project_id, name="gone-soon")
    bystander = _agent(api, admin, project_id, name="bystander")
    # Each trigger runs, after the one before it has ended.
    body = {
        "agent_id": target,
        "interval_seconds": 3600,
        "payload": "status?",
        "enabled": False,
        "overlap_policy": "buffer_all",
    }
    created = api.post(f"/projects/{project_id}/schedules", headers=admin, json=body)
    assert created.status_code == 201, created.text
    path = f"/projects/{project_id}/schedules/{created.json()['id']}"
    assert api.delete(f"/projects/{project_id}/agents/{target}", headers=admin).status_code == 204

    for n in range(1, FAILED_RUNS + 1):
        # Runs triggered within one second share a workflow id (Temporal appends the second): one
        # trigger a second, each after the previous run was recorded.
        time.sleep(1.1)
        assert api.post(f"{path}/trigger", headers=admin).status_code == 202
        eventually_sync(lambda n=n: len(_runs(api, admin, path)) >= n, timeout=60, what=f"failed run {n}")

    def posted() -> dict | None:
        log = api.get(f"/projects/{project_id}/messages", headers=admin, params={"conversation_id": monitor})
        assert log.status_code == 200, log.text
        alerts = [m for m in log.json()["items"] if m["performative"] == "alert"]
        assert len(alerts) <= 1, alerts
        return alerts[0] if alerts else None

    alert = eventually_sync(posted, timeout=60, what="the schedule failures' alert")
    assert alert["content"]["alert"]["kind"] == "schedule_failed"
    assert alert["content"]["alert"]["count"] == FAILED_RUNS
    assert alert["content"]["alert"]["paused"] is False
    assert alert["content"]["alert"]["agent_id"] == ""  # the target is gone: the project's
    assert alert["content"]["alert"]["subject"] == f"schedule {created.json()['id']}"  # counted per schedule
    assert "3 failed schedule runs within 60 minutes" in alert["content"]["text"]
    assert "failed: agent not found" in alert["content"]["alert"]["detail"]
    runs = _runs(api, admin, path)
    assert runs and all(run["outcome"] == "failed: agent not found" for run in runs), runs
    for agent in (monitor, bystander):
        shown = api.get(f"/projects/{project_id}/agents/{agent}", headers=admin)
        assert shown.status_code == 200 and shown.json()["status"] == "active", shown.text
    assert api.delete(path, headers=admin).status_code == 204
