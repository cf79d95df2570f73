"""The OpenAPI document as a generated client sees it, and the docs served without a CDN."""

from __future__ import annotations

import re

import jsonschema
import pytest

from agentmesh_gateway.app import create_app
from agentmesh_gateway.docs_pages import install_docs
from agentmesh_gateway.openapi_doc import ERROR_BODY
from agentmesh_gateway.settings import GatewaySettings

EVENTS = "/projects/{project_id}/conversations/{conversation_id}/events"


@pytest.fixture(scope="module")
def document() -> dict:
    return create_app(GatewaySettings()).openapi()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_operation_ids_are_unique_camel_case_with_tags_and_summaries(document) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z0-9][a-z0-9]*)*", op_id) for op_id in ids), ids
    assert {"listAgents", "sendMessage", "streamConversationEvents", "createStreamTicket", "getDashboard"} <= set(ids)
    declared = {tag["name"] for tag in document["tags"]}
    for path, method, operation in operations(document):
        assert operation.get("summary"), (method, path)
        assert operation.get("tags") and set(operation["tags"]) <= declared, (method, path)


def test_every_error_response_has_the_real_error_body(document) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, operation in operations(document):
        responses = operation["responses"]
        if path in ("/healthz", "/metrics") or path.startswith("/readyz"):
            continue
        body = "OpenAIErrorBody" if path.startswith("/v1/") else "ErrorBody"
        assert {"422", "429", "503"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{body}"}, (method, path, status)
        if "security" in operation:
            assert {"401", "403"} <= set(responses), (method, path)
        if "{project_id}" in path:
            assert "404" in responses, (method, path)


def test_streams_metrics_and_readiness_are_documented_as_they_answer(document) -> None:
    events = document["paths"][EVENTS]["get"]
    assert list(events["responses"]["200"]["content"]) == ["text/event-stream"]
    assert document["components"]["schemas"]["ConversationEvent"]["properties"]["sequence"]
    assert any(p["name"] == "ticket" and p["in"] == "query" for p in events["parameters"])
    assert list(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    assert document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Readiness"
    }


def test_main_bodies_carry_examples(document) -> None:
    for op_id in ("login", "createAgent", "sendMessage", "createSchedule", "searchMemories", "createProject"):
        [operation] = [op for _, _, op in operations(document) if op["operationId"] == op_id]
        assert operation["requestBody"]["content"]["application/json"]["example"], op_id


async def test_answered_errors_match_what_the_document_declares(api, admin, make_user) -> None:
    document = (await api.get("/openapi.json")).json()
    _, stranger = await make_user("stranger")
    project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
    cases = [
        ("get", "/projects/{project_id}/agents", f"/projects/{project}/agents", {}, None, 401),
        ("get", "/projects/{project_id}/agents", f"/projects/{project}/agents", stranger, None, 404),
        ("post", "/projects/{project_id}/agents", f"/projects/{project}/agents", admin, {"name": 5}, 422),
        ("post", "/users", "/users", stranger, {"username": "x", "password": "password-123"}, 403),
        ("post", "/projects/{project_id}/members", f"/projects/{project}/members", admin,
         {"user_id": "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1", "role": "user"}, 404),
        ("get", "/projects/{project_id}/dashboard", "/projects/nope/dashboard", admin, None, 404),
    ]  # fmt: skip
    for method, template, path, headers, body, status in cases:
        response = await api.request(method.upper(), path, headers=headers, json=body)
        assert response.status_code == status, (path, response.text)
        assert str(status) in document["paths"][template][method]["responses"], (method, template, status)
        jsonschema.validate(response.json(), ERROR_BODY)


async def test_docs_pages_load_nothing_from_elsewhere(api) -> None:
    for path in ("/docs", "/redoc"):
        response = await api.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text), path
        assert "/openapi.json" in response.text


async def test_swagger_ui_assets_come_from_a_package_when_installed(tmp_path) -> None:
    import httpx
    from fastapi import FastAPI

    (tmp_path / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = function () {};")
    (tmp_path / "swagger-ui.css").write_text("body {}")
    app = FastAPI(docs_url=None, redoc_url=None)
    install_docs(app, tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        page = (await client.get("/docs")).text
        assert "/docs/assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
        asset = await client.get("/docs/assets/swagger-ui-bundle.js")
        assert asset.status_code == 200 and "SwaggerUIBundle" in asset.text


def test_the_declared_swagger_ui_package_ships_the_assets() -> None:
    # swagger-ui-bundle is a dependency of the gateway: /docs must not fall back to the plain page.
    from agentmesh_gateway.docs_pages import swagger_assets

    folder = swagger_assets()
    assert folder is not None and (folder / "swagger-ui.css").is_file()
