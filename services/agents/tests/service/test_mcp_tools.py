"""MCP tools end to end in the service: a real MCP server (the SDK's, in a subprocess) registered,
its tools in the catalog, granted, called by a scripted agent; then the server stopped."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import struct_pb2

from agentmesh.agents.v1 import agent_pb2, message_pb2, tool_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_agents.rpc.mapping import struct_dict
from agentmesh_db.database import Database
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually_sync
from agentmesh_grpc.identity import acting_as

EVENT = message_pb2.ConversationEventType
SECRET = "Bearer s3cret-token-value"


@pytest.fixture
def mcp_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("mcp_server_app.py")), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def listening() -> bool:
        assert process.poll() is None, "the MCP server exited"
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        eventually_sync(listening, timeout=30, what="the MCP server listening")
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        process.kill()
        process.wait(10)


async def _code(coro) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await coro
    return caught.value.code()


async def _turn(service, agent_id: str, text: str) -> list[message_pb2.ConversationEvent]:
    with acting_as(service.member):
        sent = await service.stub.SendMessage(
            pb.SendMessageRequest(
                project_id=service.project, agent_id=agent_id, content=struct_pb2.Value(string_value=text)
            )
        )
        call = service.stub.StreamConversationEvents(
            pb.StreamConversationEventsRequest(project_id=service.project, conversation_id=sent.message.conversation_id)
        )
    seen = []
    try:
        async with asyncio.timeout(40):
            async for response in call:
                seen.append(response.event)
                if response.event.type == EVENT.CONVERSATION_EVENT_TYPE_REPLY:
                    break
    finally:
        call.cancel()
    return seen


def _observation(turns) -> str:
    return turns[-1].content.removeprefix("Observation: ")


async def test_an_mcp_servers_tool_is_registered_granted_called_and_survives_the_server_going_down(
    service, mcp_server, migrated_database_url: str
) -> None:
    url, process = mcp_server
    stub = service.stub
    draft = tool_pb2.McpServer(name="calc", url=url)
    request = pb.CreateMcpServerRequest(server=draft, headers={"Authorization": SECRET})
    with acting_as(service.admin):
        assert await _code(stub.CreateMcpServer(request)) == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(service.superadmin):
        for bad in (
            pb.CreateMcpServerRequest(server=tool_pb2.McpServer(name="Bad.Name", url=url)),
            pb.CreateMcpServerRequest(server=tool_pb2.McpServer(name="calc", url="file:///etc/passwd")),
            pb.CreateMcpServerRequest(server=draft, headers={"X-Bad": "a\r\nInjected: 1"}),
        ):
            assert await _code(stub.CreateMcpServer(bad)) == grpc.StatusCode.INVALID_ARGUMENT
        created = (await stub.CreateMcpServer(request)).server
        assert (created.name, created.tool_count, list(created.header_names)) == ("calc", 2, ["Authorization"])
        assert await _code(stub.CreateMcpServer(request)) == grpc.StatusCode.ALREADY_EXISTS
        listed = await stub.ListMcpServers(pb.ListMcpServersRequest())
    # The secret is never returned, and is not stored in the clear.
    assert [s.name for s in listed.servers] == ["calc"]
    assert SECRET.encode() not in listed.SerializeToString() + created.SerializeToString()
    db = Database(migrated_database_url, pool_size=1)
    stored = await db.run(lambda s: s.execute(sa.text("SELECT headers FROM agents.mcp_servers")).scalar_one())
    db.dispose()
    assert "s3cret" not in stored

    with acting_as(service.member):
        catalog = {t.name: t for t in (await stub.ListTools(pb.ListToolsRequest(page_size=100))).tools}
    assert {"calc.add", "calc.shouttext"} <= catalog.keys()
    assert catalog["calc.add"].kind == tool_pb2.TOOL_KIND_MCP
    assert set(struct_dict(catalog["calc.add"].parameters)["properties"]) == {"a", "b"}

    with acting_as(service.admin):
        agent = (
            await stub.CreateAgent(
                pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name="mcp-user"))
            )
        ).agent
        await stub.SetAgentTools(
            pb.SetAgentToolsRequest(
                project_id=service.project,
                agent_id=agent.id,
                tools=[tool_pb2.AgentTool(name="calc.add"), tool_pb2.AgentTool(name="calc.shouttext")],
            )
        )
    service.inference.calls.clear()  # the script is indexed by the calls made
    service.inference.script = [
        [json.dumps({"tool": "calc.add", "arguments": {"a": 2, "b": 40}})],
        lambda turns: [json.dumps({"final": "the sum is " + _observation(turns)})],
        [json.dumps({"tool": "calc.shouttext", "arguments": {"text": "quiet"}})],
        lambda turns: [json.dumps({"final": "got " + _observation(turns)})],
    ]
    events = await _turn(service, agent.id, "2 + 40?")
    results = [e for e in events if e.type == EVENT.CONVERSATION_EVENT_TYPE_TOOL_RESULT]
    assert [(e.tool_call.tool, e.tool_call.outcome, e.text) for e in results] == [
        ("calc.add", tool_pb2.TOOL_CALL_OUTCOME_ALLOWED, "42")
    ]
    assert events[-1].reply.content.string_value == "the sum is 42"
    events = await _turn(service, agent.id, "shout")
    assert events[-1].reply.content.string_value == "got QUIET"  # the remote name shoutText was used

    # The server goes away: the call is an error observation and the turn still ends with a reply.
    process.kill()
    process.wait(10)
    service.inference.calls.clear()
    service.inference.script = [
        [json.dumps({"tool": "calc.add", "arguments": {"a": 1, "b": 1}})],
        lambda turns: [json.dumps({"final": "server said: " + _observation(turns)})],
    ]
    events = await _turn(service, agent.id, "1 + 1?")
    results = [e for e in events if e.type == EVENT.CONVERSATION_EVENT_TYPE_TOOL_RESULT]
    assert [(e.tool_call.outcome, e.text) for e in results] == [
        (tool_pb2.TOOL_CALL_OUTCOME_ERROR, "error: the MCP server could not be reached")
    ]
    assert events[-1].reply.content.string_value == "server said: error: the MCP server could not be reached"

    with acting_as(service.superadmin):
        refresh = stub.RefreshMcpServer(pb.RefreshMcpServerRequest(name="calc"))
        assert await _code(refresh) == grpc.StatusCode.FAILED_PRECONDITION
        await stub.DeleteMcpServer(pb.DeleteMcpServerRequest(name="calc"))
        assert await _code(stub.DeleteMcpServer(pb.DeleteMcpServerRequest(name="calc"))) == grpc.StatusCode.NOT_FOUND
        assert await _code(stub.RefreshMcpServer(pb.RefreshMcpServerRequest(name="calc"))) == (
            grpc.StatusCode.NOT_FOUND
        )
        names = [t.name for t in (await stub.ListTools(pb.ListToolsRequest(page_size=100))).tools]
        assert not [name for name in names if name.startswith("calc.")]
    with acting_as(service.admin):
        granted = await stub.GetAgentTools(pb.GetAgentToolsRequest(project_id=service.project, agent_id=agent.id))
    assert list(granted.tools) == []
