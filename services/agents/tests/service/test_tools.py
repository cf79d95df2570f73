"""Tools through the real servicer and runtime: catalog and grant RPCs, a tool turn, its events and audit."""

from __future__ import annotations

import asyncio
import base64
import json

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from agentmesh.agents.v1 import agent_pb2, message_pb2, tool_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_agents.rpc.mapping import struct_proto
from agentmesh_agents.wiring import seed_builtin_tools
from agentmesh_core import pagination
from agentmesh_grpc.identity import acting_as

EVENT = message_pb2.ConversationEventType


async def _code(coro) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await coro
    return caught.value.code()


async def _agent(service, **fields) -> agent_pb2.Agent:
    with acting_as(service.admin):
        response = await service.stub.CreateAgent(
            pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name="worker", **fields))
        )
    return response.agent


def _grant(name: str, **fields) -> tool_pb2.AgentTool:
    return tool_pb2.AgentTool(name=name, **fields)


async def _set_tools(service, agent_id: str, *grants: tool_pb2.AgentTool, who=None):
    with acting_as(who or service.admin):
        request = pb.SetAgentToolsRequest(project_id=service.project, agent_id=agent_id, tools=list(grants))
        return await service.stub.SetAgentTools(request)


async def test_catalog_and_grant_rpcs_keep_their_rules(service) -> None:
    await seed_builtin_tools(service.components)
    stub = service.stub
    with acting_as(service.member):
        listed = await stub.ListTools(pb.ListToolsRequest())
    names = [
        "calculator",
        "current_time",
        "http_fetch",
        "memory_search",
        "memory_store",
        "publish_to_topic",
        "send_message_to_agent",
    ]
    assert [t.name for t in listed.tools] == names
    assert all(t.kind == tool_pb2.TOOL_KIND_BUILTIN and t.enabled for t in listed.tools)
    assert [t.name for t in listed.tools if t.restricted] == ["http_fetch"]

    mcp = tool_pb2.Tool(
        name="web.search",
        description="Search the web.",
        parameters=struct_proto({"type": "object", "properties": {"q": {"type": "string"}}}),
        kind=tool_pb2.TOOL_KIND_MCP,
        restricted=True,
    )
    with acting_as(service.admin):
        assert await _code(stub.CreateTool(pb.CreateToolRequest(tool=mcp))) == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(service.superadmin):
        created = (await stub.CreateTool(pb.CreateToolRequest(tool=mcp))).tool
        assert created.restricted and created.create_time.seconds > 0
        bad = tool_pb2.Tool(name="Bad!", description="x", kind=tool_pb2.TOOL_KIND_MCP)
        assert await _code(stub.CreateTool(pb.CreateToolRequest(tool=bad))) == grpc.StatusCode.INVALID_ARGUMENT
        redefine = pb.UpdateToolRequest(
            tool=tool_pb2.Tool(name="calculator", description="evil"),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        )
        assert await _code(stub.UpdateTool(redefine)) == grpc.StatusCode.FAILED_PRECONDITION
        disable = pb.UpdateToolRequest(
            tool=tool_pb2.Tool(name="current_time", enabled=False),
            update_mask=field_mask_pb2.FieldMask(paths=["enabled"]),
        )
        assert not (await stub.UpdateTool(disable)).tool.enabled

    agent = await _agent(service)
    config = struct_proto({"default_timezone": "Europe/Paris"})
    granted = await _set_tools(service, agent.id, _grant("current_time", config=config, requires_approval=True))
    (only,) = granted.tools
    assert only.name == "current_time" and only.requires_approval and only.HasField("requires_approval")
    assert only.tool.description and not only.tool.enabled
    with acting_as(service.member):
        read = await stub.GetAgentTools(pb.GetAgentToolsRequest(project_id=service.project, agent_id=agent.id))
    assert list(read.tools) == list(granted.tools)
    # A project admin cannot grant a restricted tool; a member cannot grant at all; outsiders see nothing.
    assert await _code(_set_tools(service, agent.id, _grant("web.search"))) == grpc.StatusCode.PERMISSION_DENIED
    member_set = _set_tools(service, agent.id, who=service.member)
    assert await _code(member_set) == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(service.outsider):
        outsider = stub.GetAgentTools(pb.GetAgentToolsRequest(project_id=service.project, agent_id=agent.id))
        assert await _code(outsider) == grpc.StatusCode.NOT_FOUND
    for bad_grant in (_grant("no.such"), _grant("calculator", config=struct_proto({"x": 1}))):
        assert await _code(_set_tools(service, agent.id, bad_grant)) == grpc.StatusCode.INVALID_ARGUMENT
    assert (await _set_tools(service, agent.id, _grant("web.search"), who=service.superadmin)).tools[0].name == (
        "web.search"
    )
    # http_fetch: restricted, and its grant must name the hosts it may reach.
    hosts = struct_proto({"allowed_hosts": ["example.org"]})
    assert await _code(_set_tools(service, agent.id, _grant("http_fetch", config=hosts))) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    no_hosts = _set_tools(service, agent.id, _grant("http_fetch"), who=service.superadmin)
    assert await _code(no_hosts) == grpc.StatusCode.INVALID_ARGUMENT
    fetch = await _set_tools(service, agent.id, _grant("http_fetch", config=hosts), who=service.superadmin)
    assert [t.name for t in fetch.tools] == ["http_fetch"]
    with acting_as(service.admin):
        for bad in (
            pb.ListToolCallsRequest(project_id=service.project, agent_id="nope"),
            pb.ListApprovalsRequest(project_id=service.project, status=99),
        ):
            call = stub.ListToolCalls(bad) if isinstance(bad, pb.ListToolCallsRequest) else stub.ListApprovals(bad)
            assert await _code(call) == grpc.StatusCode.INVALID_ARGUMENT
    with acting_as(service.member):
        calls = stub.ListToolCalls(pb.ListToolCallsRequest(project_id=service.project))
        assert await _code(calls) == grpc.StatusCode.PERMISSION_DENIED


def _edited(cursor: str) -> str:
    return cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")


async def test_list_cursors_are_tamper_evident(service) -> None:
    await seed_builtin_tools(service.components)
    stub = service.stub
    with acting_as(service.admin):
        token = (await stub.ListTools(pb.ListToolsRequest(page_size=1))).next_page_token
        assert token and (await stub.ListTools(pb.ListToolsRequest(page_size=1, page_token=token))).tools
        offset_cursor = base64.urlsafe_b64encode(b"o:1").decode()
        # A well-formed cursor over a name no tool can have (checksums are not secrets) is bad input too.
        for bad in (_edited(token), offset_cursor, pagination.encode_keyset("NOT\x00A NAME")):
            assert await _code(stub.ListTools(pb.ListToolsRequest(page_token=bad))) == grpc.StatusCode.INVALID_ARGUMENT
        time_cursor = pagination.encode_keyset("2026-11-30T09:00:00+00:00", "6a1f1bd2-43b5-4cba-9c1e-fc2b84b5e0a1")
        for bad in (_edited(time_cursor), offset_cursor):
            calls = stub.ListToolCalls(pb.ListToolCallsRequest(project_id=service.project, page_token=bad))
            approvals = stub.ListApprovals(pb.ListApprovalsRequest(project_id=service.project, page_token=bad))
            assert await _code(calls) == grpc.StatusCode.INVALID_ARGUMENT
            assert await _code(approvals) == grpc.StatusCode.INVALID_ARGUMENT


async def _events(service, conversation_id: str, until: int):
    seen = []
    with acting_as(service.member):
        call = service.stub.StreamConversationEvents(
            pb.StreamConversationEventsRequest(project_id=service.project, conversation_id=conversation_id)
        )
    try:
        async with asyncio.timeout(20):
            async for response in call:
                seen.append(response.event)
                if response.event.type == until:
                    break
    finally:
        call.cancel()
    return seen


def _step(value: dict) -> list[str]:
    return [json.dumps(value)]


async def test_a_tool_turn_streams_its_steps_and_is_audited(service) -> None:
    await seed_builtin_tools(service.components)
    service.inference.calls.clear()
    service.inference.script = [
        _step({"tool": "calculator", "arguments": {"expression": "2**16"}}),
        _step({"tool": "memory_store", "arguments": {"content": "not granted"}}),
        lambda turns: _step({"final": "2**16 is " + turns[-3].content.removeprefix("Observation: ")}),
    ]
    agent = await _agent(service)
    await _set_tools(service, agent.id, _grant("calculator"))
    with acting_as(service.member):
        sent = (
            await service.stub.SendMessage(
                pb.SendMessageRequest(
                    project_id=service.project, agent_id=agent.id, content=struct_pb2.Value(string_value="2**16?")
                )
            )
        ).message

    events = await _events(service, sent.conversation_id, EVENT.CONVERSATION_EVENT_TYPE_REPLY)

    calls = [e for e in events if e.type == EVENT.CONVERSATION_EVENT_TYPE_TOOL_CALL]
    results = [e for e in events if e.type == EVENT.CONVERSATION_EVENT_TYPE_TOOL_RESULT]
    assert [e.tool_call.tool for e in calls] == ["calculator", "memory_store"]
    assert calls[0].tool_call.arguments == struct_proto({"expression": "2**16"})
    assert [(e.tool_call.outcome, e.text) for e in results] == [
        (tool_pb2.TOOL_CALL_OUTCOME_ALLOWED, "65536"),
        (tool_pb2.TOOL_CALL_OUTCOME_REFUSED, "tool not permitted"),
    ]
    assert events[-1].reply.content.string_value == "2**16 is 65536"
    assert service.memory.stored == []
    with acting_as(service.admin):
        audit = await service.stub.ListToolCalls(pb.ListToolCallsRequest(project_id=service.project, agent_id=agent.id))
        log = await service.stub.ListMessages(
            pb.ListMessagesRequest(project_id=service.project, conversation_id=sent.conversation_id)
        )
    assert [(c.tool, c.outcome, c.step) for c in audit.tool_calls] == [
        ("memory_store", tool_pb2.TOOL_CALL_OUTCOME_REFUSED, 2),
        ("calculator", tool_pb2.TOOL_CALL_OUTCOME_ALLOWED, 1),
    ]
    assert sorted(m.performative for m in log.messages) == sorted(
        ["request", "tool_call", "tool_result", "tool_call", "tool_result", "reply"]
    )
