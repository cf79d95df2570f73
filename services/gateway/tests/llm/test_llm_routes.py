"""The superadmin's debug routes (/llm/*) and the project quota routes."""

from __future__ import annotations

import pytest


async def test_generate_returns_the_whole_completion(api, world, inference, state) -> None:
    body = {"prompt": "Hello AI, how are you?", "max_tokens": 2, "project_id": world["a"]}
    response = await api.post("/llm/generate", headers=world["admin"], json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["completion"] == "Hello from" and answer["finish_reason"] == "stop"
    assert answer["model"] == "fake-llama" and answer["usage"]["total_tokens"] == 7
    assert inference.calls[0].project_id == world["a"]
    usage = (await api.get(f"/projects/{world['a']}/usage", headers=world["admin"])).json()
    assert usage["total"]["requests"] == 1 and usage["callers"][0]["key_id"] is None


async def test_generate_with_messages_and_no_project(api, world, inference) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "json_schema": {"type": "object"}}
    response = await api.post("/llm/generate", headers=world["admin"], json=body)
    assert response.status_code == 200, response.text
    assert inference.calls[0].project_id == "" and inference.calls[0].request.json_schema == {"type": "object"}


@pytest.mark.parametrize(
    "body",
    [{}, {"prompt": "a", "messages": [{"role": "user", "content": "b"}]}, {"prompt": "a", "max_tokens": 0},
     {"prompt": "a", "project_id": "nope"}, {"prompt": "a", "extra": 1}],
)  # fmt: skip
async def test_generate_refuses_bad_input(api, world, body) -> None:
    response = await api.post("/llm/generate", headers=world["admin"], json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_argument"


async def test_debug_routes_are_for_superadmins_only(api, world) -> None:
    for headers in (world["owner"], world["member"]):
        assert (await api.post("/llm/generate", headers=headers, json={"prompt": "x"})).status_code == 403
        assert (await api.post("/llm/embed", headers=headers, json={"text": "x"})).status_code == 403
        assert (await api.get("/llm/health", headers=headers)).status_code == 403
    assert (await api.get("/llm/health")).status_code == 401


async def test_embed_one_text_or_many(api, world) -> None:
    one = await api.post("/llm/embed", headers=world["admin"], json={"text": "two words"})
    assert one.status_code == 200, one.text
    assert one.json() == {"model": "fake-embedder", "dimensions": 3, "embedding": [9.0, 2.0, 1.0], "embeddings": None}
    many = (await api.post("/llm/embed", headers=world["admin"], json={"texts": ["a", "b c"]})).json()
    assert many["embeddings"] == [[1.0, 1.0, 1.0], [3.0, 2.0, 1.0]]
    for bad in ({}, {"text": "a", "texts": ["b"]}, {"texts": []}):
        assert (await api.post("/llm/embed", headers=world["admin"], json=bad)).status_code == 422


async def test_health_reports_loading_with_503_and_ready_with_200(api, world, inference) -> None:
    ready = await api.get("/llm/health", headers=world["admin"])
    assert ready.status_code == 200
    assert ready.json()["state"] == "ready" and ready.json()["engine"]["max_batch_size"] == 64
    inference.loading = True
    loading = await api.get("/llm/health", headers=world["admin"])
    assert loading.status_code == 503 and loading.headers["retry-after"] == "5"
    assert loading.json()["state"] == "loading"
    generate = await api.post("/llm/generate", headers=world["admin"], json={"prompt": "x"})
    assert generate.status_code == 503 and generate.headers["retry-after"] == "5"
    assert generate.json()["error"]["code"] == "unavailable"


async def test_superadmins_override_a_project_quota_and_members_read_it(api, world, inference) -> None:
    path = f"/projects/{world['a']}/quota"
    assert (await api.put(path, headers=world["owner"], json={"max_concurrent_requests": 1})).status_code == 403
    assert (await api.put(path, headers=world["outsider"], json={"max_concurrent_requests": 1})).status_code == 404
    set_ = await api.put(path, headers=world["admin"], json={"max_concurrent_requests": 1})
    assert set_.status_code == 200, set_.text
    assert set_.json()["max_concurrent_requests"] == 1 and set_.json()["overridden"] is True
    read = (await api.get(path, headers=world["member"])).json()
    assert read["max_concurrent_requests"] == 1 and read["tokens_per_minute"] == 1_000_000
    cleared = (await api.put(path, headers=world["admin"], json={})).json()
    assert cleared["overridden"] is False
    for bad in ({"tokens_per_minute": -1}, {"max_concurrent_requests": "many"}, {"other": 1}):
        assert (await api.put(path, headers=world["admin"], json=bad)).status_code == 422


async def test_usage_without_the_inference_service_still_reports_api_calls(api, world, inference) -> None:
    inference.loading = True

    async def down(project_id: str):
        from agentmesh_core.errors import Unavailable

        raise Unavailable("the inference service is unavailable")

    inference.project_quota = down  # type: ignore[method-assign]
    response = await api.get(f"/projects/{world['a']}/usage", headers=world["owner"])
    assert response.status_code == 200, response.text
    assert response.json()["quota"] is None and response.json()["total"]["requests"] == 0
