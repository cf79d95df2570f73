"""The inference front door end to end: the official `openai` client against the running mesh,
project API keys, quotas and fairness, the metrics port, and patience while the model loads."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import openai
import pytest

from agentmesh_devstack.stack import Stack
from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

HELLO = [{"role": "user", "content": "Say hello."}]


def project(api: httpx.Client, admin: dict[str, str], name: str) -> str:
    response = api.post("/projects", headers=admin, json={"name": f"{name}-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def api_key(api: httpx.Client, admin: dict[str, str], project_id: str) -> dict:
    response = api.post(f"/projects/{project_id}/api-keys", headers=admin, json={"name": "e2e"})
    assert response.status_code == 201, response.text
    return response.json()


def set_quota(api: httpx.Client, admin: dict[str, str], project_id: str, **quota: int) -> dict:
    response = api.put(f"/projects/{project_id}/quota", headers=admin, json=quota)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def project_a(api: httpx.Client, admin: dict[str, str]) -> str:
    return project(api, admin, "openai-a")


@pytest.fixture(scope="module")
def project_b(api: httpx.Client, admin: dict[str, str]) -> str:
    return project(api, admin, "openai-b")


@pytest.fixture(scope="module")
def key_a(api: httpx.Client, admin: dict[str, str], project_a: str) -> dict:
    return api_key(api, admin, project_a)


@pytest.fixture(scope="module")
def key_b(api: httpx.Client, admin: dict[str, str], project_b: str) -> dict:
    return api_key(api, admin, project_b)


def client(mesh: Stack, token: str, **headers: str) -> openai.OpenAI:
    # No retries: the tests look at each answer (the client would retry 429 and 503 itself).
    return openai.OpenAI(
        base_url=f"{mesh.config.gateway_url}/v1", api_key=token, max_retries=0, timeout=120, default_headers=headers
    )


def test_the_openai_client_with_an_api_key(mesh: Stack, key_a: dict) -> None:
    llm = client(mesh, key_a["key"])
    models = llm.models.list().data
    assert [m.id for m in models] == ["tiny-llama"]
    answer = llm.chat.completions.create(model=models[0].id, messages=HELLO, max_tokens=12, temperature=0)
    assert answer.choices[0].finish_reason == "length" and answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content
    assert answer.usage is not None and answer.usage.completion_tokens == 12 and answer.usage.prompt_tokens > 0

    stream = llm.chat.completions.create(
        model="tiny-llama", messages=HELLO, max_tokens=12, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]


def test_the_openai_client_with_a_users_token(mesh: Stack, admin: dict[str, str], project_a: str) -> None:
    token = admin["Authorization"].removeprefix("Bearer ")
    llm = client(mesh, token, **{"X-Agentmesh-Project": project_a})
    assert llm.models.list().data[0].id == "tiny-llama"
    answer = llm.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=4)
    assert answer.usage is not None and answer.usage.completion_tokens <= 4
    streamed = list(llm.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=4, stream=True))
    assert streamed[-1].choices[0].finish_reason in ("stop", "length")
    json_answer = llm.chat.completions.create(
        model="tiny-llama", messages=HELLO, max_tokens=64, response_format={"type": "json_object"}
    )
    assert (json_answer.choices[0].message.content or "").startswith("{")


def test_keys_are_revocable_and_bound_to_their_project(
    mesh: Stack, api: httpx.Client, admin: dict[str, str], project_a: str, project_b: str, key_b: dict
) -> None:
    other = client(mesh, key_b["key"], **{"X-Agentmesh-Project": project_a})
    with pytest.raises(openai.NotFoundError):
        other.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=2)
    doomed = api_key(api, admin, project_b)
    llm = client(mesh, doomed["key"])
    assert llm.models.list().data
    assert api.delete(f"/projects/{project_b}/api-keys/{doomed['id']}", headers=admin).status_code == 204
    with pytest.raises(openai.AuthenticationError):
        llm.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=2)


def test_bad_input_is_an_openai_shaped_4xx_never_a_500(mesh: Stack, api: httpx.Client, key_a: dict) -> None:
    llm = client(mesh, key_a["key"])
    with pytest.raises(openai.NotFoundError):
        llm.chat.completions.create(model="gpt-4o", messages=HELLO)
    for bad in ({"n": 2}, {"max_tokens": -1}, {"max_tokens": 100_000}):
        with pytest.raises(openai.BadRequestError):
            llm.chat.completions.create(model="tiny-llama", messages=HELLO, **bad)
    headers = {"Authorization": f"Bearer {key_a['key']}"}
    bodies = [
        {"model": "tiny-llama", "messages": [{"content": "no role"}]},
        {"model": "tiny-llama", "messages": "hello"},
        {"model": "tiny-llama", "messages": [{"role": "user", "content": "x" * 40_000}]},  # over the prompt limit
        {"model": "tiny-llama", "messages": [{"role": "user", "content": "word " * 3000}]},  # over the context
    ]
    for body in bodies:
        response = api.post("/v1/chat/completions", headers=headers, json=body)
        assert response.status_code == 400, response.text
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    malformed = api.post("/v1/chat/completions", headers={**headers, "Content-Type": "application/json"},
                         content=b"{nope")  # fmt: skip
    assert malformed.status_code == 400 and "error" in malformed.json()


async def test_a_flooding_project_gets_429s_and_another_is_still_answered(
    mesh: Stack, api: httpx.Client, admin: dict[str, str], project_a: str, key_a: dict, key_b: dict
) -> None:
    set_quota(api, admin, project_a, max_concurrent_requests=1)
    url = f"{mesh.config.gateway_url}/v1/chat/completions"
    body = {"model": "tiny-llama", "messages": HELLO, "max_tokens": 256, "temperature": 0}
    try:
        async with httpx.AsyncClient(timeout=120) as http:

            async def call(key: dict) -> httpx.Response:
                return await http.post(url, headers={"Authorization": f"Bearer {key['key']}"}, json=body)

            answers = await asyncio.gather(*(call(key_a) for _ in range(8)), call(key_b))
    finally:
        set_quota(api, admin, project_a)
    flood, fair = answers[:-1], answers[-1]
    assert fair.status_code == 200, fair.text
    refused = [r for r in flood if r.status_code == 429]
    assert refused and all(r.status_code in (200, 429) for r in flood)
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert refused[0].json()["error"]["code"] == "rate_limit_exceeded"


def test_tokens_per_minute_refuses_with_the_time_until_the_window_frees(
    mesh: Stack, api: httpx.Client, admin: dict[str, str]
) -> None:
    fresh = project(api, admin, "openai-tpm")  # nothing used in its window yet
    set_quota(api, admin, fresh, tokens_per_minute=20)
    llm = client(mesh, api_key(api, admin, fresh)["key"])
    llm.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=16)
    with pytest.raises(openai.RateLimitError) as refused:
        llm.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=16)
    assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60


def test_usage_per_key_and_the_quota_state(api: httpx.Client, admin: dict[str, str], project_a: str, key_a: dict):
    usage = api.get(f"/projects/{project_a}/usage", headers=admin)
    assert usage.status_code == 200, usage.text
    body = usage.json()
    by_key = {c["key_id"]: c for c in body["callers"]}
    assert by_key[key_a["id"]]["requests"] >= 2 and by_key[key_a["id"]]["completion_tokens"] >= 24
    assert body["quota"]["requests_total"] >= body["total"]["requests"] - 1
    assert body["quota"]["rejections_total"] >= 1


def test_over_quota_agent_turns_complete_later(api: httpx.Client, admin: dict[str, str]) -> None:
    paused = project(api, admin, "quota-agents")
    agent = api.post(f"/projects/{paused}/agents", headers=admin,
                     json={"name": "patient", "model_config": {"max_tokens": 8}}).json()["id"]  # fmt: skip
    set_quota(api, admin, paused, max_concurrent_requests=0)  # nothing of this project may run now
    sent = api.post(f"/projects/{paused}/agents/{agent}/messages", headers=admin, json={"content": "hi"}).json()

    def status() -> str:
        found = api.get(f"/projects/{paused}/messages", headers=admin, params={"agent_id": agent}).json()["items"]
        return next(m["status"] for m in found if m["id"] == sent["message_id"])

    eventually_sync(
        lambda: api.get(f"/projects/{paused}/quota", headers=admin).json()["rejections_total"] >= 2,
        timeout=60,
        what="the agent's turn to be refused for quota (and asked again)",
    )
    assert status() in ("queued", "processing")
    set_quota(api, admin, paused)
    eventually_sync(lambda: status() == "complete", timeout=60, what="the turn to complete once the quota allows")


def test_metrics_port_exports_ours_and_vllms(mesh: Stack, project_a: str) -> None:
    text = httpx.get(f"http://{mesh.config.host}:{mesh.config.inference_metrics_port}/metrics", timeout=10).text
    assert f'agentmesh_inference_tokens_total{{kind="completion",project="{project_a}"}}' in text
    assert f'agentmesh_inference_quota_rejections_total{{project="{project_a}",reason="concurrency"}}' in text
    for name in (
        "agentmesh_inference_time_to_first_token_seconds_count",
        "agentmesh_inference_kv_cache_usage_ratio",
        "agentmesh_inference_requests_running",
        "vllm:num_requests_running",
        "vllm:kv_cache_usage_perc",
    ):
        assert name in text, name  # fmt: skip


def test_llm_debug_routes(api: httpx.Client, admin: dict[str, str]) -> None:
    health = api.get("/llm/health", headers=admin)
    assert health.status_code == 200 and health.json()["state"] == "ready"
    assert health.json()["engine"]["completion_tokens_total"] > 0
    generated = api.post("/llm/generate", headers=admin, json={"prompt": "Hello AI, how are you?", "max_tokens": 8})
    assert generated.status_code == 200, generated.text
    assert generated.json()["usage"]["completion_tokens"] <= 8
    embedded = api.post("/llm/embed", headers=admin, json={"text": "hello world"})
    assert embedded.status_code == 200, embedded.text
    assert embedded.json()["dimensions"] == 384


def test_calls_while_the_model_loads_get_503_with_retry_after(mesh: Stack, api: httpx.Client, key_a: dict) -> None:
    # Last in this module: restarts the inference service and waits until it serves again.
    headers = {"Authorization": f"Bearer {key_a['key']}"}
    body = {"model": "tiny-llama", "messages": HELLO, "max_tokens": 4}
    mesh.stop_service("inference")
    mesh.start_service("inference")

    def loading_answer() -> httpx.Response | None:
        response = api.post("/v1/chat/completions", headers=headers, json=body)
        assert response.status_code in (200, 503), response.text
        return response if response.status_code == 503 and "loading" in response.text else None

    loading = eventually_sync(loading_answer, timeout=120, interval=0.2, what="a 503 while the model loads")
    assert int(loading.headers["retry-after"]) >= 1
    assert json.loads(loading.text)["error"]["code"] == "service_unavailable"
    eventually_sync(
        lambda: api.post("/v1/chat/completions", headers=headers, json=body).status_code == 200,
        timeout=300,
        interval=1,
        what="the model to load and answer",
    )
    mesh.wait_ready(timeout=120)
