"""Bad input against the real mesh: every route, every class, a 4xx JSON error and nothing stored.

Classes: nesting depth, NUL, lone surrogates, non-finite numbers, huge numbers,
edge datetimes, oversize bodies and headers, foreign ids, loose booleans. Bodies
are sent as raw bytes, written by hand, because json.dumps cannot write NaN-free
lone surrogates or NaN in strict mode. After each case the route's list still
answers 200; at the end every list is exactly as it was before the first case
(nothing half-accepted, nothing stored).
"""

from __future__ import annotations

import re
import uuid

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2

from agentmesh.agents.v1 import agent_service_pb2 as agents_pb
from agentmesh.agents.v1 import agent_service_pb2_grpc as agents_grpc
from agentmesh.memory.v1 import memory_service_pb2 as memory_pb
from agentmesh.memory.v1 import memory_service_pb2_grpc as memory_grpc
from agentmesh.scheduler.v1 import scheduler_service_pb2 as scheduler_pb
from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as scheduler_grpc
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_devstack.stack import Stack
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as

from .bad_inputs import OPENAI_ERROR_FIELDS, TOPIC, Case, World, all_cases

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(api: httpx.Client, admin: dict[str, str]) -> World:
    def made(response: httpx.Response) -> str:
        assert response.status_code == 201, response.text
        return response.json()["id"] if "id" in response.json() else response.json()["items"][0]["id"]

    tag = uuid.uuid4().hex[:6]
    project = made(api.post("/projects", headers=admin, json={"name": f"bad-{tag}"}))
    other = made(api.post("/projects", headers=admin, json={"name": f"bad-other-{tag}"}))
    # Paused: the cases never reach the model, and a message accepted by mistake would stay visible.
    agent_body = {"name": "target", "status": "paused", "topics": [TOPIC]}
    agent = made(api.post(f"/projects/{project}/agents", headers=admin, json=agent_body))
    other_agent = made(api.post(f"/projects/{other}/agents", headers=admin, json=agent_body))
    other_entry = made(api.post(f"/projects/{other}/memory", headers=admin, json={"content": "theirs"}))
    user = made(api.post("/users", headers=admin, json={"username": f"bad_{tag}", "password": "password-123"}))
    world = World(admin, project, other, agent, other_agent, other_entry, user)
    message = {"content": "waits: the agent is paused"}
    theirs = api.post(f"/projects/{other}/agents/{other_agent}/messages", headers=admin, json=message)
    mine = api.post(f"/projects/{project}/agents/{agent}/messages", headers=admin, json=message)
    assert theirs.status_code == mine.status_code == 202, (theirs.text, mine.text)
    world.other_message, world.finished_message = theirs.json()["message_id"], mine.json()["message_id"]
    cancelled = api.post(f"/projects/{project}/messages/{world.finished_message}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    schedule = {"agent_id": agent, "interval_seconds": 3600, "payload": "x", "enabled": False}
    world.schedule = made(api.post(f"/projects/{project}/schedules", headers=admin, json=schedule))
    world.lists = ["/projects", "/users", "/tools", "/tools/mcp-servers"] + [
        f"/projects/{p}/{what}" for p in (project, other) for what in ("agents", "messages", "memory", "schedules",
                                                                        "members", "jobs", "api-keys", "approvals")
    ] + [f"/projects/{project}/agents/{agent}/tools", f"/projects/{project}/quota"]  # fmt: skip
    return world


def _list_for(case: Case) -> str:
    """The list a case could change: its project's resource list, or the gateway's own."""
    parts = case.path.split("?")[0].strip("/").split("/")
    if parts[0] == "tools":
        return "/tools/mcp-servers" if case.path.startswith("/tools/mcp-servers") else "/tools"
    if parts[0] != "projects" or len(parts) < 3:
        return "/users" if parts[0] in ("users", "auth") else "/projects"
    project, resource = parts[1], parts[2]
    if (resource == "agents" and len(parts) >= 5) or resource in ("conversations", "topics"):
        resource = "messages"
    return f"/projects/{project}/{resource}"


def test_every_bad_input_is_a_json_4xx_and_stores_nothing(api: httpx.Client, world: World) -> None:
    before = world.snapshot(api)
    cases = all_cases(world)
    failures = []
    for case in cases:
        # Header values as bytes: servers read them as latin-1, so "\u00b2" arrives as itself.
        headers = {**(world.admin if case.auth else {}), **{k: v.encode("latin-1") for k, v in case.headers}}
        if case.body is not None:
            headers["content-type"] = "application/json"
        try:
            response = api.request(case.method, case.path, headers=headers, content=case.body and case.body.encode())
        except httpx.HTTPError as error:
            failures.append((case.name, "no answer", type(error).__name__))
            continue
        ok_status = response.status_code == case.expect if case.expect else 400 <= response.status_code < 500
        try:
            error = response.json()["error"]
            if case.openai:
                ok_body = bool(error["message"]) and bool(error["type"]) and set(error) == OPENAI_ERROR_FIELDS
            else:
                ok_body = bool(error["code"]) and bool(error["message"]) and set(error) == {"code", "message"}
        except (ValueError, KeyError, TypeError):
            ok_body = False
        if not (ok_status and ok_body):
            failures.append((case.name, response.status_code, response.text[:200]))
        listed = api.get(_list_for(case), headers=world.admin)
        if listed.status_code != 200:
            failures.append((case.name, "list broke", listed.status_code))
    print(f"{len(cases)} bad inputs driven, {len(failures)} failed")
    assert failures == []
    assert world.snapshot(api) == before


def test_every_route_that_takes_a_body_is_driven(api: httpx.Client, world: World) -> None:
    """The suite covers what the gateway serves: a new route with a body needs its cases here."""
    spec = api.get("/openapi.json")
    assert spec.status_code == 200, spec.text
    routes = [
        (method.upper(), re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path)
        for path, operations in spec.json()["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    driven = {(case.method, case.path.split("?")[0]) for case in all_cases(world) if case.body is not None}
    missing = [f"{method} {path}" for method, pattern, path in routes
               if not any(m == method and pattern.match(p) for m, p in driven)]  # fmt: skip
    assert missing == []


async def test_direct_grpc_callers_get_invalid_argument_not_internal(mesh: Stack, world: World) -> None:
    """The services apply the same rules to gRPC callers the gateway never saw."""
    nan = struct_pb2.Value(number_value=float("nan"))
    too_deep = struct_pb2.Value(string_value="leaf")
    for _ in range(25):  # deeper than the JSON rule allows, well within what protobuf decodes
        inner, too_deep = too_deep, struct_pb2.Value()
        too_deep.struct_value.fields["k"].CopyFrom(inner)
    nul = struct_pb2.Value(string_value="nul \x00")
    p, a = world.project, world.agent
    channels = {
        name: create_channel(mesh.config.addr(name), mesh.signer()) for name in ("agents", "memory", "scheduler")
    }
    agents = agents_grpc.AgentServiceStub(channels["agents"])
    memory = memory_grpc.MemoryServiceStub(channels["memory"])
    scheduler = scheduler_grpc.SchedulerServiceStub(channels["scheduler"])
    codes = {}
    try:
        with acting_as(Identity(subject="e2e-bad-input", role=GlobalRole.SUPERADMIN)):
            for name, content in (("NaN", nan), ("depth 26", too_deep), ("NUL", nul)):
                send = agents_pb.SendMessageRequest(project_id=p, agent_id=a, content=content)
                codes[f"SendMessage {name}"] = await _code(agents.SendMessage(send, timeout=10))
                publish = agents_pb.PublishToTopicRequest(project_id=p, topic=TOPIC, content=content)
                codes[f"PublishToTopic {name}"] = await _code(agents.PublishToTopic(publish, timeout=10))
                spec = scheduler_pb.ScheduleSpec(interval_seconds=60)
                schedule = scheduler_pb.Schedule(agent_id=a, spec=spec, payload=content, enabled=True)
                create = scheduler_pb.CreateScheduleRequest(project_id=p, schedule=schedule)
                codes[f"CreateSchedule {name}"] = await _code(scheduler.CreateSchedule(create, timeout=10))
                document = memory_pb.Document(content="c", metadata=struct_pb2.Struct(fields={"v": content}))
                add = memory_pb.AddMemoriesRequest(project_id=p, documents=[document])
                codes[f"AddMemories {name}"] = await _code(memory.AddMemories(add, timeout=10))
            for topic in ("", "a b", "x" * 65, "a\x00b"):
                publish = agents_pb.PublishToTopicRequest(
                    project_id=p, topic=topic, content=struct_pb2.Value(string_value="x")
                )
                codes[f"PublishToTopic topic {topic[:10]!r}"] = await _code(agents.PublishToTopic(publish, timeout=10))
            watch = agents_pb.StreamConversationEventsRequest(
                project_id=p, conversation_id=str(uuid.uuid4()), after_sequence=2**64 - 1
            )
            codes["StreamConversationEvents 2**64-1"] = await _code(_first(agents.StreamConversationEvents(watch)))
    finally:
        for channel in channels.values():
            await channel.close()
    assert {name: code for name, code in codes.items() if code != grpc.StatusCode.INVALID_ARGUMENT} == {}


async def _code(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def _first(stream) -> None:
    async for _ in stream:
        return
