"""Operators' view of the running mesh: each service process serves its own Prometheus
metrics on its metrics address, and every line each process writes is a JSON log object."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

from agentmesh_devstack.stack import Stack
from agentmesh_devstack.waiting import eventually_sync

GRPC_SERVICES = ("agents", "memory", "inference", "scheduler")
OWN_SERIES = {
    "agents": (
        "agentmesh_agents_turns_in_flight",
        "agentmesh_agents_turns_parked",
        "agentmesh_agents_message_processing_seconds",
        "agentmesh_agents_tool_calls_total",
        "agentmesh_agents_mailbox_pending_messages",
        "agentmesh_agents_mailbox_oldest_message_age_seconds",
    ),
    "memory": (
        "agentmesh_memory_embedding_seconds",
        "agentmesh_memory_index_seconds",
        "agentmesh_memory_index_entries",
    ),
    "inference": ("agentmesh_inference_tokens_total", "agentmesh_inference_requests_queued"),
    "scheduler": (
        "agentmesh_scheduler_schedule_fires_total",
        "agentmesh_scheduler_activities_total",
        "agentmesh_scheduler_job_steps_total",
    ),
}


def scrape(mesh: Stack, service: str) -> str:
    response = httpx.get(f"http://{mesh.config.metrics_addr(service)}/metrics", timeout=10)
    assert response.status_code == 200, service
    return response.text


def families(text: str) -> set[str]:
    """The metric families a scrape declares (its `# TYPE` lines; counters with `_total`)."""
    return {line.split(" ")[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def handled(text: str, method: str) -> float:
    """Calls of one RPC answered OK, from a scrape."""
    pattern = rf'agentmesh_grpc_server_handled_total\{{grpc_code="OK",grpc_method="{method}",[^}}]*\}} (\S+)'
    return sum(float(value) for value in re.findall(pattern, text))


@pytest.fixture(scope="module")
def answered(api: httpx.Client, admin: dict[str, str]) -> str:
    """A project whose agent answered one message (so every service has served something)."""
    project = api.post("/projects", headers=admin, json={"name": f"obs-{uuid.uuid4().hex[:6]}"}).json()["id"]
    agent = api.post(
        f"/projects/{project}/agents",
        headers=admin,
        json={"name": "helper", "purpose": "answers", "system_prompt": "Be brief.", "model_config": {"max_tokens": 8}},
    ).json()["id"]
    sent = api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json={"content": "Hello?"})
    assert sent.status_code == 202, sent.text
    message = sent.json()["message_id"]

    def complete() -> bool:
        listed = api.get(f"/projects/{project}/messages", headers=admin, params={"limit": 200}).json()["items"]
        return any(m["id"] == message and m["status"] == "complete" for m in listed)

    eventually_sync(complete, timeout=120, interval=0.5, what="the agent's answer")
    return project


def test_each_service_serves_its_own_metrics(mesh: Stack, answered: str) -> None:
    scrapes = {service: scrape(mesh, service) for service in GRPC_SERVICES}
    for service, text in scrapes.items():
        declared = families(text)
        assert set(OWN_SERIES[service]) <= declared, f"{service} lacks {set(OWN_SERIES[service]) - declared}"
        assert "agentmesh_grpc_server_handled_total" in declared, service
        # One process, one registry: no other service's series.
        others = {name for other in GRPC_SERVICES if other != service for name in OWN_SERIES[other]}
        assert not others & declared, service
    assert handled(scrapes["agents"], "SendMessage") >= 1
    assert handled(scrapes["memory"], "SearchMemories") >= 1
    assert handled(scrapes["inference"], "Generate") >= 1
    assert re.search(r'agentmesh_agents_message_processing_seconds_count\{outcome="done"\} [1-9]', scrapes["agents"])
    assert re.search(r"agentmesh_memory_embedding_seconds_count\{kind=\"query\"\} [1-9]", scrapes["memory"])
    # The backlog is read every few seconds, one gauge per inbox partition.
    eventually_sync(
        lambda: 'agentmesh_agents_mailbox_pending_messages{partition="0"}' in scrape(mesh, "agents"),
        timeout=30,
        what="the inbox backlog gauges",
    )


# The only plain lines left: vLLM's spawned engine processes import vLLM (and it PyTorch)
# before vLLM configures their logging (vLLM 0.32 does that after import), so a warning
# logged at import goes to Python's last-resort handler and a Python warning to stderr.
# Each is named exactly: anything else that is not JSON fails the test.
VLLM_ENGINE_IMPORT_LINES = (
    re.compile(r"Triton is installed, but doesn't include CPU backend\. Disabling Triton\."),
    re.compile(
        r"/\S+/site-packages/vllm/triton_utils/dispatcher\.py:\d+: FutureWarning: `torch\.distributed\.reduce_op`.*"
    ),
)


def plain_lines(service: str, lines: list[str]) -> list[str]:
    """Lines that are not JSON, less the known vLLM engine-process ones (and a warning's source line)."""
    plain, after_warning = [], False
    for number, line in enumerate(lines, 1):
        known = service == "inference" and (
            any(p.fullmatch(line) for p in VLLM_ENGINE_IMPORT_LINES) or (after_warning and line.startswith("  "))
        )
        after_warning = service == "inference" and bool(VLLM_ENGINE_IMPORT_LINES[1].fullmatch(line))
        if known:
            continue
        try:
            json.loads(line)
        except ValueError:
            plain.append(f"{number}: {line[:160]}")
    return plain


def test_every_line_every_service_writes_is_json(mesh: Stack, answered: str) -> None:
    for service in (*GRPC_SERVICES, "gateway"):
        log = mesh.services[service].log_path
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        assert lines, service
        plain = plain_lines(service, lines)
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            assert {"time", "level", "service", "message"} <= set(entry), f"{service}:{number}"
        assert not plain, f"{service} wrote {len(plain)} plain-text lines, e.g. {plain[:5]}"
        # An error's traceback is logged once, never printed a second time beside the JSON.
        assert not [line for line in lines if line.startswith("Traceback")], service
