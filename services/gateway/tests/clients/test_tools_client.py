"""ToolsClient against a real grpc.aio server: schemas <-> protos, the caller's identity, tool events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from google.protobuf import timestamp_pb2

from agentmesh.agents.v1 import agent_service_pb2, agent_service_pb2_grpc, message_pb2, tool_pb2
from agentmesh_core.errors import FailedPrecondition
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_gateway.clients.agents import event_out
from agentmesh_gateway.clients.convert import to_struct
from agentmesh_gateway.clients.tools import ToolsClient
from agentmesh_gateway.schemas.approvals import DecisionIn
from agentmesh_gateway.schemas.tools import GrantIn, ToolIn, ToolPatch
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as, caller
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys

GATEWAY = ServiceKeys.local("gateway").signer
PROJECT = new_id()
ME = Identity(subject=new_id(), role=GlobalRole.USER, project_id=PROJECT, project_role=ProjectRole.ADMIN)
STAMP = timestamp_pb2.Timestamp(seconds=1_800_000_000)
CALC = tool_pb2.Tool(name="calculator", description="math", kind=tool_pb2.TOOL_KIND_BUILTIN, enabled=True,
                     parameters=to_struct({"type": "object"}), create_time=STAMP)  # fmt: skip


def _approval(status: int) -> tool_pb2.Approval:
    return tool_pb2.Approval(id=new_id(), agent_id="a", message_id="m", conversation_id="c", tool_call_id="t",
                             tool="calculator", arguments=to_struct({"expression": "1+1"}), status=status,
                             expire_time=STAMP, create_time=STAMP)  # fmt: skip


class ToolService(agent_service_pb2_grpc.AgentServiceServicer):
    """Answers the tool RPCs from canned data and records what each call carried."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Identity, object]] = []

    async def ListTools(self, request, ctx):
        self.seen.append(("ListTools", caller(), request))
        return agent_service_pb2.ListToolsResponse(tools=[CALC], next_page_token="n")

    async def CreateTool(self, request, ctx):
        self.seen.append(("CreateTool", caller(), request))
        return agent_service_pb2.CreateToolResponse(tool=request.tool)

    async def UpdateTool(self, request, ctx):
        self.seen.append(("UpdateTool", caller(), request))
        raise FailedPrecondition("builtin tools can be disabled, not redefined")

    async def SetAgentTools(self, request, ctx):
        self.seen.append(("SetAgentTools", caller(), request))
        granted = [tool_pb2.AgentTool(name=t.name, config=t.config, tool=CALC) for t in request.tools]
        for proto, wanted in zip(granted, request.tools, strict=True):
            if wanted.HasField("requires_approval"):
                proto.requires_approval = wanted.requires_approval
        return agent_service_pb2.SetAgentToolsResponse(tools=granted)

    async def ListApprovals(self, request, ctx):
        self.seen.append(("ListApprovals", caller(), request))
        return agent_service_pb2.ListApprovalsResponse(approvals=[_approval(tool_pb2.APPROVAL_STATUS_PENDING)])

    async def DecideApproval(self, request, ctx):
        self.seen.append(("DecideApproval", caller(), request))
        approval = _approval(tool_pb2.APPROVAL_STATUS_DENIED)
        approval.comment, approval.decided_by = request.comment, "admin"
        return agent_service_pb2.DecideApprovalResponse(approval=approval)


@pytest.fixture
async def service() -> AsyncIterator[tuple[ToolService, ToolsClient]]:
    servicer = ToolService()
    server = ServiceServer(ServiceKeys.local("agents").trust, "127.0.0.1:0")
    server.add_service(
        "agentmesh.agents.v1.AgentService",
        lambda s: agent_service_pb2_grpc.add_AgentServiceServicer_to_server(servicer, s),
    )
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}", GATEWAY)
    yield servicer, ToolsClient(channel)
    await channel.close()
    await server.stop(0)


async def test_catalog_calls_map_both_ways(service) -> None:
    servicer, client = service
    with acting_as(ME):
        page = await client.list_tools(10, "")
        created = await client.create_tool(ToolIn(name="web.search", description="d", parameters={"type": "object"}))
        with pytest.raises(FailedPrecondition):
            await client.update_tool("calculator", ToolPatch(enabled=False, description="x"))
    (tool,) = page.items
    assert (tool.name, tool.kind, tool.enabled, page.next_cursor) == ("calculator", "builtin", True, "n")
    assert created.kind == "mcp" and created.parameters == {"type": "object"}
    update = servicer.seen[2][2]
    assert sorted(update.update_mask.paths) == ["description", "enabled"] and update.tool.name == "calculator"
    assert all(identity == ME for _, identity, _ in servicer.seen)


async def test_grants_keep_the_approval_override_tri_state(service) -> None:
    servicer, client = service
    with acting_as(ME):
        granted = await client.set_agent_tools(
            PROJECT, "agent", [GrantIn(name="calculator"), GrantIn(name="current_time", requires_approval=False)]
        )
    sent = servicer.seen[0][2]
    assert [t.HasField("requires_approval") for t in sent.tools] == [False, True]
    assert [g.requires_approval for g in granted] == [None, False]


async def test_approvals_round_trip(service) -> None:
    servicer, client = service
    with acting_as(ME):
        pending = await client.list_approvals(PROJECT, "pending", 10, "")
        decided = await client.decide_approval(PROJECT, "x", DecisionIn(decision="deny", comment="no"))
    assert servicer.seen[0][2].status == tool_pb2.APPROVAL_STATUS_PENDING
    assert pending.items[0].status == "pending" and pending.items[0].arguments == {"expression": "1+1"}
    assert servicer.seen[1][2].decision == tool_pb2.APPROVAL_DECISION_DENY
    assert (decided.status, decided.comment, decided.decided_by) == ("denied", "no", "admin")


def test_tool_events_carry_their_call_or_approval() -> None:
    call = tool_pb2.ToolCall(
        id="c", tool="calculator", arguments=to_struct({"expression": "2"}), step=1,
        outcome=tool_pb2.TOOL_CALL_OUTCOME_ALLOWED,
    )  # fmt: skip
    result_event = message_pb2.ConversationEvent(
        sequence=3, type=message_pb2.CONVERSATION_EVENT_TYPE_TOOL_RESULT, conversation_id="conv", text="2",
        tool_call=call,
    )  # fmt: skip
    result = event_out(result_event)
    assert result.type == "tool_result" and result.text == "2"
    assert result.tool_call is not None and result.tool_call.outcome == "allowed" and result.approval is None
    required_event = message_pb2.ConversationEvent(
        sequence=4, type=message_pb2.CONVERSATION_EVENT_TYPE_APPROVAL_REQUIRED, conversation_id="conv",
        approval=_approval(tool_pb2.APPROVAL_STATUS_PENDING),
    )  # fmt: skip
    required = event_out(required_event)
    assert required.type == "approval_required" and required.approval.status == "pending"
    assert required.tool_call is None and required.text is None
