"""POST /v1/chat/completions and GET /v1/models with a fake model: OpenAI's shapes, auth, quotas, errors."""

from __future__ import annotations

import json

import pytest

CHAT = {"model": "fake-llama", "messages": [{"role": "user", "content": "Hello there"}]}


def key_headers(key: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


def jwt_in(world: dict, who: str, project: str) -> dict[str, str]:
    return {**world[who], "X-Agentmesh-Project": world[project]}


def events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.split("\n\n") if line.startswith("data: ")]


def assert_openai_error(response, status: int, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "Traceback" not in error["message"]
    if param is not None:
        assert error["param"] == param
    return error


async def test_models_lists_the_served_model(api, world) -> None:
    for headers in (world["member"], key_headers(world["key_a"])):
        response = await api.get("/v1/models", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list"
        assert [(m["id"], m["object"], m["owned_by"]) for m in body["data"]] == [("fake-llama", "model", "agentmesh")]


async def test_a_completion_with_an_api_key(api, world, inference) -> None:
    body = {**CHAT, "messages": [{"role": "developer", "content": "Be brief."},
                                 {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
            "max_tokens": 3, "temperature": 0.5, "stop": "END", "seed": 7}  # fmt: skip
    response = await api.post("/v1/chat/completions", headers=key_headers(world["key_a"]), json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["object"] == "chat.completion" and answer["id"].startswith("chatcmpl-")
    assert answer["model"] == "fake-llama"
    (choice,) = answer["choices"]
    assert choice["message"] == {"role": "assistant", "content": "Hello from the", "refusal": None}
    assert choice["finish_reason"] == "stop"
    assert answer["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    (call,) = inference.calls
    assert call.project_id == world["a"] and call.identity.project_id == world["a"]
    assert [(t.role, t.content) for t in call.request.messages] == [("system", "Be brief."), ("user", "Hi")]
    assert (call.request.max_tokens, call.request.temperature, call.request.stop, call.request.seed) == (
        3, 0.5, ["END"], 7)  # fmt: skip


async def test_a_streamed_completion_with_a_jwt(api, world) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    async with api.stream("POST", "/v1/chat/completions", headers=jwt_in(world, "member", "a"), json=body) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = (await stream.aread()).decode()
    data = events(text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert content == "Hello from the fake model."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 5


async def test_response_formats_become_json_schemas(api, world, inference) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    formats = [
        ({"type": "json_object"}, {"type": "object"}),
        ({"type": "json_schema", "json_schema": {"name": "thing", "schema": schema}}, schema),
        ({"type": "text"}, None),
    ]
    for response_format, expected in formats:
        response = await api.post("/v1/chat/completions", headers=key_headers(world["key_a"]),
                                  json={**CHAT, "response_format": response_format})  # fmt: skip
        assert response.status_code == 200, response.text
        assert inference.calls[-1].request.json_schema == expected


async def test_a_key_cannot_be_used_for_another_project(api, world, inference) -> None:
    headers = {**key_headers(world["key_a"]), "X-Agentmesh-Project": world["b"]}
    assert_openai_error(await api.post("/v1/chat/completions", headers=headers, json=CHAT), 404)
    assert inference.calls == []


async def test_jwt_callers_name_a_project_they_belong_to(api, world, inference) -> None:
    assert_openai_error(await api.post("/v1/chat/completions", headers=world["member"], json=CHAT), 400)
    outsider = jwt_in(world, "outsider", "a")
    assert_openai_error(await api.post("/v1/chat/completions", headers=outsider, json=CHAT), 404)
    assert_openai_error(await api.post("/v1/chat/completions", json=CHAT), 401)
    assert inference.calls == []


async def test_over_quota_is_429_with_retry_after(api, world, inference) -> None:
    inference.refuse[world["a"]] = 12.5
    response = await api.post("/v1/chat/completions", headers=key_headers(world["key_a"]), json=CHAT)
    error = assert_openai_error(response, 429)
    assert error["code"] == "rate_limit_exceeded" and response.headers["retry-after"] == "13"
    # Another project is still answered.
    assert (await api.post("/v1/chat/completions", headers=key_headers(world["key_b"]), json=CHAT)).status_code == 200


async def test_while_the_model_loads_calls_are_503_with_retry_after(api, world, inference) -> None:
    inference.loading = True
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
        response = await api.request(method, path, headers=key_headers(world["key_a"]), json=CHAT)
        error = assert_openai_error(response, 503)
        assert "loading" in error["message"] and int(response.headers["retry-after"]) > 0
    inference.loading = False
    assert (await api.post("/v1/chat/completions", headers=key_headers(world["key_a"]), json=CHAT)).status_code == 200


async def test_inference_failing_mid_stream_ends_with_an_openai_error_event(api, world, inference) -> None:
    inference.fail_after = 2
    body = {**CHAT, "stream": True}
    async with api.stream("POST", "/v1/chat/completions", headers=key_headers(world["key_a"]), json=body) as stream:
        assert stream.status_code == 200
        data = events((await stream.aread()).decode())
    assert data[-1] == "[DONE]"
    error = json.loads(data[-2])["error"]
    assert error["type"] == "server_error" and "unavailable" in error["message"]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"model": "gpt-4o"}, None),
        ({"n": 2}, "n"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
        ({"temperature": 5}, "temperature"),
        ({"messages": []}, "messages"),
        ({"messages": [{"content": "no role"}]}, "messages.0.role"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": 42}]}, None),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, None),
        ({"messages": "hello"}, "messages"),
        ({"stop": ["a"] * 9}, "stop"),
        ({"presence_penalty": 1.0}, "presence_penalty"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"response_format": {"type": "json_schema"}}, "response_format"),
        ({"model": None}, "model"),
    ],
)
async def test_bad_input_is_an_openai_shaped_4xx(api, world, inference, change, param) -> None:
    response = await api.post("/v1/chat/completions", headers=key_headers(world["key_a"]), json={**CHAT, **change})
    error = assert_openai_error(response, 404 if change.get("model") else 400, param)
    if change.get("model"):
        assert error["code"] == "model_not_found"
    assert inference.calls == []


async def test_malformed_json_and_an_oversize_prompt_are_400(api, world, inference) -> None:
    headers = {**key_headers(world["key_a"]), "Content-Type": "application/json"}
    malformed = assert_openai_error(await api.post("/v1/chat/completions", headers=headers, content=b"{not json"), 400)
    assert malformed["param"] is None  # the body as a whole, not a field named after a character position
    assert malformed["message"].startswith("the body is not valid JSON (at character 1: ")
    inference.max_prompt_chars = 100
    long = {**CHAT, "messages": [{"role": "user", "content": "word " * 100}]}
    error = assert_openai_error(await api.post("/v1/chat/completions", headers=headers, json=long), 400)
    assert error["code"] == "context_length_exceeded"


async def test_usage_is_counted_per_day_and_per_key(api, world, state) -> None:
    await api.post("/v1/chat/completions", headers=key_headers(world["key_a"]), json=CHAT)
    await api.post("/v1/chat/completions", headers=key_headers(world["key_a"]), json=CHAT)
    await api.post("/v1/chat/completions", headers=jwt_in(world, "member", "a"), json=CHAT)
    await api.post("/v1/chat/completions", headers=key_headers(world["key_b"]), json=CHAT)
    response = await api.get(f"/projects/{world['a']}/usage", headers=world["owner"])
    assert response.status_code == 200, response.text
    usage = response.json()
    assert usage["total"] == {"prompt_tokens": 6, "completion_tokens": 15, "requests": 3}
    callers = {(c["key_id"], c["user_id"]): c for c in usage["callers"]}
    key = callers[(world["key_a"]["id"], None)]
    assert (key["key_name"], key["key_prefix"], key["requests"], key["completion_tokens"]) == (
        "ci", world["key_a"]["prefix"], 2, 10)  # fmt: skip
    assert callers[(None, world["member_id"])]["requests"] == 1
    assert len(usage["days"]) == 1 and usage["days"][0]["requests"] == 3
    assert usage["quota"]["tokens_per_minute"] == 1_000_000
    assert (await api.get(f"/projects/{world['a']}/usage", headers=world["member"])).status_code == 403
    assert (await api.get(f"/projects/{world['a']}/usage", headers=world["outsider"])).status_code == 404
