"""Jobs and schedules end to end, over REST only (plus Temporal's own client for the
operators' view), on the real mesh: the scheduler's workflows send real messages to
real agents answered by vLLM.

The crash tests kill -9 the scheduler and restart the Temporal dev server in the
middle of a job; they restore the mesh before they end.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from agentmesh_devstack.stack import Stack
from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

# A system prompt far beyond the tiny model's 2048-token context: every turn of
# this agent fails with "inference failed: prompt too long".
TOO_LONG = " ".join(f"rule-{i} keep every answer short and precise" for i in range(1500))


def eventually(fetch: Callable[[], Any], check: Callable[[Any], bool], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if check(value):
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {value}")


@pytest.fixture(scope="module")
def project(api: httpx.Client, admin: dict[str, str]) -> str:
    response = api.post("/projects", headers=admin, json={"name": f"jobs-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _agent(api: httpx.Client, admin: dict[str, str], project: str, name: str, **extra: Any) -> str:
    body = {"name": name, "purpose": name, "model_config": {"temperature": 0.0, "max_tokens": 16}, **extra}
    response = api.post(f"/projects/{project}/agents", headers=admin, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
def agents(api: httpx.Client, admin: dict[str, str], project: str) -> dict[str, str]:
    return {
        "data": _agent(api, admin, project, "data"),
        "analysis": _agent(api, admin, project, "analysis"),
        "manager": _agent(api, admin, project, "manager"),
        "broken": _agent(api, admin, project, "broken", system_prompt=TOO_LONG[:15_000]),
    }


@pytest.fixture(scope="module")
def slow_agents(api: httpx.Client, admin: dict[str, str], project: str) -> dict[str, str]:
    """Agents whose turns take long enough for a crash to land mid-job on a fast host too.

    With 16 tokens a turn the diamond job ended within 0.5 s of its start on a 2-core
    host with AVX-512, before a poll every 0.5 s saw it running. 300 greedy tokens a turn
    (the random model runs to max_tokens) keep it running for seconds; the fan-in's
    prompt (two such outputs) stays well inside the tiny model's 2,048-token context.
    """
    config = {"model_config": {"temperature": 0.0, "max_tokens": 300}}
    return {name: _agent(api, admin, project, f"slow-{name}", **config) for name in ("data", "analysis", "manager")}


def _job(api: httpx.Client, admin: dict[str, str], project: str, body: dict) -> dict:
    response = api.post(f"/projects/{project}/jobs", headers=admin, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _get(api: httpx.Client, admin: dict[str, str], project: str, job_id: str) -> dict:
    response = api.get(f"/projects/{project}/jobs/{job_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def _get_or_unavailable(api: httpx.Client, admin: dict[str, str], project: str, job_id: str) -> dict:
    """The job, or {"status": "unavailable"} while the scheduler restarts (503)."""
    response = api.get(f"/projects/{project}/jobs/{job_id}", headers=admin)
    if response.status_code == 503:
        return {"status": "unavailable"}
    assert response.status_code == 200, response.text
    return response.json()


def _finished(api: httpx.Client, admin: dict[str, str], project: str, job_id: str, timeout: float = 180) -> dict:
    return eventually(
        lambda: _get_or_unavailable(api, admin, project, job_id),
        lambda job: job["status"] in ("completed", "failed", "cancelled"),
        timeout,
        f"job {job_id} to finish",
    )


def _requests_of(api: httpx.Client, admin: dict[str, str], project: str, job_id: str) -> list[dict]:
    """The messages the scheduler sent for the job (its steps' attempts)."""
    items = api.get(f"/projects/{project}/messages", headers=admin, params={"limit": 200}).json()["items"]
    return [m for m in items if m["correlation_id"] == job_id and m["sender"]["type"] == "system"]


def _diamond(agents: dict[str, str]) -> dict:
    return {
        "name": "daily report",
        "steps": [
            {"id": "data", "agent_id": agents["data"], "input": "List today's numbers."},
            {"id": "analysis", "agent_id": agents["analysis"], "input": "Name one trend."},
            {"id": "compose", "agent_id": agents["manager"], "depends_on": ["data", "analysis"],
             "input": "Data: {{steps.data.output}} Analysis: {{steps.analysis.output}} Write the report."},
            {"id": "publish", "agent_id": agents["manager"], "depends_on": ["compose"],
             "input": {"publish": "{{steps.compose.output}}"}, "timeout_s": 300},
        ],
    }  # fmt: skip


def test_a_four_step_job_runs_two_in_parallel_then_fans_in(
    api: httpx.Client, admin: dict[str, str], project: str, agents: dict[str, str]
) -> None:
    job = _job(api, admin, project, _diamond(agents))
    assert job["workflow_id"] == f"project-{project}-job-{job['id']}"
    done = _finished(api, admin, project, job["id"])
    assert done["status"] == "completed", done
    steps = {step["id"]: step for step in done["steps"]}
    for step in steps.values():
        assert step["status"] == "completed" and step["attempts"] == 1, step
        assert isinstance(step["output"], str) and step["message_id"], step
    data, analysis, compose = steps["data"]["output"], steps["analysis"]["output"], steps["compose"]
    assert compose["sent_input"] == f"Data: {data} Analysis: {analysis} Write the report."
    assert steps["publish"]["sent_input"] == {"publish": compose["output"]}
    assert steps["data"]["started_at"] == steps["analysis"]["started_at"]  # fan-out: one workflow task
    assert compose["started_at"] >= max(steps["data"]["ended_at"], steps["analysis"]["ended_at"])  # fan-in
    requests = _requests_of(api, admin, project, job["id"])
    assert sorted(m["id"] for m in requests) == sorted(s["message_id"] for s in steps.values())
    assert done["temporal_ui_url"].endswith(job["workflow_id"])


def test_a_failing_step_is_retried_and_fails_the_job_naming_it(
    api: httpx.Client, admin: dict[str, str], project: str, agents: dict[str, str]
) -> None:
    body = {
        "name": "fragile",
        "steps": [
            {"id": "ok", "agent_id": agents["data"], "input": "Say hello."},
            {"id": "doomed", "agent_id": agents["broken"], "input": "Summarise {{steps.ok.output}}",
             "depends_on": ["ok"], "retry": {"max_attempts": 2, "backoff_s": 1}},
            {"id": "never", "agent_id": agents["manager"], "input": "x", "depends_on": ["doomed"]},
        ],
    }  # fmt: skip
    job = _job(api, admin, project, body)
    done = _finished(api, admin, project, job["id"])
    assert done["status"] == "failed" and done["failed_step_id"] == "doomed", done
    assert "step 'doomed' failed" in done["error"] and "prompt too long" in done["error"]
    ok, doomed, never = done["steps"]
    assert (ok["status"], doomed["status"], doomed["attempts"], never["status"]) == (
        "completed", "failed", 2, "skipped",
    )  # fmt: skip
    sent = [m for m in _requests_of(api, admin, project, job["id"]) if m["receiver"]["id"] == agents["broken"]]
    assert len(sent) == 2 and all(m["status"] == "error" for m in sent)  # one message per attempt


def test_cancel_stops_a_running_job(
    api: httpx.Client, admin: dict[str, str], project: str, agents: dict[str, str]
) -> None:
    body = {
        "name": "to cancel",
        "steps": [
            {"id": "waits", "agent_id": agents["broken"], "input": "x", "retry": {"max_attempts": 5, "backoff_s": 60}},
            {"id": "after", "agent_id": agents["data"], "input": "y", "depends_on": ["waits"]},
        ],
    }
    job = _job(api, admin, project, body)
    eventually(lambda: _get(api, admin, project, job["id"]), lambda j: j["steps"][0]["attempts"] >= 1, 60,
               "the first attempt")  # fmt: skip
    cancelled = api.post(f"/projects/{project}/jobs/{job['id']}/cancel", headers=admin)
    assert cancelled.status_code == 202, cancelled.text
    done = _finished(api, admin, project, job["id"], timeout=60)
    assert done["status"] == "cancelled" and [s["status"] for s in done["steps"]] == ["cancelled", "cancelled"]
    assert len(_requests_of(api, admin, project, job["id"])) == 1  # the backoff never ended in a second attempt
    listed = api.get(f"/projects/{project}/jobs", headers=admin, params={"status": "cancelled"}).json()["items"]
    assert job["id"] in {j["id"] for j in listed}


def test_cancel_stops_the_agent_turns_of_a_running_job(api: httpx.Client, admin: dict[str, str], project: str) -> None:
    # A scripted agent whose calculator call needs approval: its turn parks, so the step waits.
    script = [json.dumps({"tool": "calculator", "arguments": {"expression": "1+1"}})]
    agent = _agent(api, admin, project, "parks", system_prompt=f"You compute.\nagentmesh-script: {json.dumps(script)}")
    grant = [{"name": "calculator", "requires_approval": True}]
    assert api.put(f"/projects/{project}/agents/{agent}/tools", headers=admin, json=grant).status_code == 200
    job = _job(
        api, admin, project, {"name": "parked step", "steps": [{"id": "parks", "agent_id": agent, "input": "2?"}]}
    )

    def parked_message() -> str | None:
        pending = api.get(f"/projects/{project}/approvals", headers=admin, params={"status": "pending"})
        step = _get(api, admin, project, job["id"])["steps"][0]
        ids = {a["message_id"] for a in pending.json()["items"]}
        return step["message_id"] if step["message_id"] in ids else None

    message_id = eventually_sync(parked_message, timeout=60, what="the step's turn to park on its approval")
    assert api.post(f"/projects/{project}/jobs/{job['id']}/cancel", headers=admin).status_code == 202
    assert _finished(api, admin, project, job["id"], timeout=60)["status"] == "cancelled"

    def message_status() -> str | None:
        items = api.get(f"/projects/{project}/messages", headers=admin, params={"agent_id": agent}).json()["items"]
        status = next(m["status"] for m in items if m["id"] == message_id)
        return status if status == "cancelled" else None

    eventually_sync(message_status, timeout=30, what="the step's message to be cancelled")


def test_temporal_lists_a_projects_jobs_by_search_attribute(
    mesh: Stack, api: httpx.Client, admin: dict[str, str], project: str
) -> None:
    jobs = api.get(f"/projects/{project}/jobs", headers=admin, params={"limit": 200}).json()["items"]
    expected = {job["workflow_id"] for job in jobs}
    assert expected

    async def listed() -> set[str]:
        client = await Client.connect(mesh.temporal.address)
        return {w.id async for w in client.list_workflows(f'AgentmeshProjectId = "{project}"')}

    found = eventually(lambda: asyncio.run(listed()), lambda ids: expected <= ids, 30, "the project's workflows")
    assert all(workflow_id.startswith(f"project-{project}-") for workflow_id in found)


def _schedule(api: httpx.Client, admin: dict[str, str], project: str, schedule_id: str) -> dict:
    response = api.get(f"/projects/{project}/schedules/{schedule_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def test_schedule_enable_pause_trigger_and_cron_change(
    api: httpx.Client, admin: dict[str, str], project: str, agents: dict[str, str]
) -> None:
    body = {"agent_id": agents["data"], "interval_seconds": 2, "payload": "status?", "enabled": False}
    created = api.post(f"/projects/{project}/schedules", headers=admin, json=body)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["next_runs"] == [] and schedule["next_run_at"] is None  # disabled
    path = f"/projects/{project}/schedules/{schedule['id']}"
    time.sleep(5)
    assert _schedule(api, admin, project, schedule["id"])["recent_runs"] == []  # disabled: never fired

    enabled = api.patch(path, headers=admin, json={"enabled": True})
    assert enabled.status_code == 200 and enabled.json()["enabled"] and enabled.json()["next_runs"]
    runs = eventually(lambda: _schedule(api, admin, project, schedule["id"])["recent_runs"],
                      lambda r: len(r) >= 2, 30, "two runs")  # fmt: skip
    assert all(run["outcome"].startswith("sent message ") for run in runs)

    paused = api.patch(path, headers=admin, json={"enabled": False})
    assert paused.status_code == 200 and paused.json()["next_runs"] == []
    time.sleep(3)  # a run that started just before the pause may still record
    count = len(_schedule(api, admin, project, schedule["id"])["recent_runs"])
    time.sleep(5)
    assert len(_schedule(api, admin, project, schedule["id"])["recent_runs"]) == count, "paused, yet it fired"

    started = time.monotonic()
    assert api.post(f"{path}/trigger", headers=admin).status_code == 202
    eventually(lambda: _schedule(api, admin, project, schedule["id"])["recent_runs"],
               lambda r: len(r) == count + 1, 15, "the triggered run")  # fmt: skip
    assert time.monotonic() - started < 10

    changed = api.patch(path, headers=admin, json={"cron": "*/5 * * * *", "enabled": True})
    assert changed.status_code == 200, changed.text
    shown = changed.json()
    assert shown["cron"] == "*/5 * * * *" and shown["interval_seconds"] is None
    assert shown["next_runs"] and all(run.endswith(("0:00Z", "5:00Z")) for run in shown["next_runs"][:3])
    assert api.delete(path, headers=admin).status_code == 204


def _restart_and_finish(
    mesh: Stack,
    api: httpx.Client,
    admin: dict[str, str],
    project: str,
    agents: dict[str, str],
    crash: Callable[[], None],
) -> None:
    body = _diamond(agents)
    for step in body["steps"]:
        step["timeout_s"] = 300
    job = _job(api, admin, project, body)
    eventually(lambda: _get(api, admin, project, job["id"]), lambda j: j["status"] == "running", 60, "running")
    crash()
    done = _finished(api, admin, project, job["id"], timeout=240)
    assert done["status"] == "completed", done
    requests = _requests_of(api, admin, project, job["id"])
    assert len(requests) == 4, [m["id"] for m in requests]  # no step's message exists twice
    assert sorted(m["id"] for m in requests) == sorted(s["message_id"] for s in done["steps"])


def test_kill_9_of_the_scheduler_mid_job_loses_and_repeats_nothing(
    mesh: Stack, api: httpx.Client, admin: dict[str, str], project: str, slow_agents: dict[str, str]
) -> None:
    def crash() -> None:
        mesh.services.pop("scheduler").stop(grace=5, sig=signal.SIGKILL)
        time.sleep(2)
        mesh.start_service("scheduler")

    try:
        _restart_and_finish(mesh, api, admin, project, slow_agents, crash)
    finally:
        if "scheduler" not in mesh.services:
            mesh.start_service("scheduler")
        mesh.wait_ready(timeout=120)


def test_a_temporal_restart_mid_job_loses_and_repeats_nothing(
    mesh: Stack, api: httpx.Client, admin: dict[str, str], project: str, slow_agents: dict[str, str]
) -> None:
    def crash() -> None:
        mesh.temporal.stop()
        time.sleep(2)
        mesh.temporal.start()

    try:
        _restart_and_finish(mesh, api, admin, project, slow_agents, crash)
    finally:
        mesh.wait_ready(timeout=120)
