"""kill -9 of the agents service while a manager waits for one of two delegated replies.

The agents service runs as its own process (`python -m agentmesh_agents`) on real
PostgreSQL and NATS, its agents scripted through their system prompts
(AGENTMESH_PROMPT_SCRIPTS, adapters/prompt_scripts.py); the test serves the
InferenceService and MemoryService it health-checks (neither is asked anything).
The manager asks data and analysis and waits for both; analysis is paused, so
the manager is parked on its reply when the process is killed. After a restart
analysis is resumed: the report completes, each delegated message exists once,
and the request has exactly one reply.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2_grpc, message_pb2, tool_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2 as inference_pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as inference_grpc
from agentmesh.memory.v1 import memory_service_pb2 as memory_pb
from agentmesh.memory.v1 import memory_service_pb2_grpc as memory_grpc
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_devstack.grpc_testing import channel_to, serving
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.identity import acting_as

from .conftest import AgentsProcess

pytestmark = pytest.mark.slow

INFERENCE = inference_pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
MEMORY = memory_pb.DESCRIPTOR.services_by_name["MemoryService"].full_name
PROJECT = str(uuid.uuid4())
ADMIN = Identity("admin-1", GlobalRole.USER, PROJECT, ProjectRole.ADMIN)


def _ask(agent: str) -> str:
    call = {"tool": "send_message_to_agent", "arguments": {"agent": agent, "content": "today", "wait_for_reply": True}}
    return json.dumps(call)


def _scripted(*outputs: str) -> str:
    return f"You are part of the daily report team.\nagentmesh-script: {json.dumps(list(outputs))}"


MANAGER = _scripted(_ask("data"), _ask("analysis"), json.dumps({"final": "report: {{observations}}"}))


@pytest.fixture
async def agents_process(migrated_database_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[AgentsProcess]:
    async with (
        serving(INFERENCE, lambda s: inference_grpc.add_InferenceServiceServicer_to_server(
            inference_grpc.InferenceServiceServicer(), s)) as model,
        serving(MEMORY, lambda s: memory_grpc.add_MemoryServiceServicer_to_server(
            memory_grpc.MemoryServiceServicer(), s)) as memory,
    ):  # fmt: skip
        process = AgentsProcess.configured(
            migrated_database_url, nats_url, model, memory, tmp_path,
            prompt_scripts="true", memory_hits="0", inbox_partitions="2",
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.process is not None:
                process.process.stop(grace=5, sig=signal.SIGKILL)


async def _log(stub) -> list[message_pb2.Message]:
    with acting_as(ADMIN):
        return list((await stub.ListMessages(pb.ListMessagesRequest(project_id=PROJECT, page_size=200))).messages)


async def _agent(stub, name: str, system_prompt: str, status=agent_pb2.AGENT_STATUS_ACTIVE) -> str:
    agent = agent_pb2.Agent(name=name, system_prompt=system_prompt, status=status)
    with acting_as(ADMIN):
        return (await stub.CreateAgent(pb.CreateAgentRequest(project_id=PROJECT, agent=agent))).agent.id


async def test_a_manager_parked_on_a_reply_survives_kill_9_and_reports_once(agents_process: AgentsProcess) -> None:
    agents_process.start("agents-1")
    await eventually(agents_process.serving, timeout=90, what="the agents service to serve")
    async with channel_to(agents_process.address) as channel:
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        manager = await _agent(stub, "manager", MANAGER)
        data = await _agent(stub, "data", _scripted("42 rows"))
        analysis = await _agent(stub, "analysis", _scripted("up 3%"), agent_pb2.AGENT_STATUS_PAUSED)
        with acting_as(ADMIN):
            grant = tool_pb2.AgentTool(name="send_message_to_agent")
            await stub.SetAgentTools(pb.SetAgentToolsRequest(project_id=PROJECT, agent_id=manager, tools=[grant]))
            content = struct_pb2.Value(string_value="the daily report, please")
            sent = await stub.SendMessage(pb.SendMessageRequest(project_id=PROJECT, agent_id=manager, content=content))
        root = sent.message.id

        async def parked_on_analysis() -> bool:
            log = await _log(stub)
            asked = {m.receiver.id: m for m in log if m.parent_id == root and m.performative == "request"}
            return (
                asked.keys() == {data, analysis}
                and asked[data].status == message_pb2.MESSAGE_STATUS_COMPLETE
                and asked[analysis].status == message_pb2.MESSAGE_STATUS_QUEUED
            )

        await eventually(parked_on_analysis, timeout=90, what="data to answer while analysis (paused) has not")

    agents_process.kill()
    agents_process.start("agents-2")
    await eventually(agents_process.serving, timeout=90, what="the restarted agents service to serve")
    async with channel_to(agents_process.address) as channel:
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        with acting_as(ADMIN):
            resume = agent_pb2.Agent(id=analysis, status=agent_pb2.AGENT_STATUS_ACTIVE)
            mask = field_mask_pb2.FieldMask(paths=["status"])
            await stub.UpdateAgent(pb.UpdateAgentRequest(project_id=PROJECT, agent=resume, update_mask=mask))

        async def reported() -> bool:
            log = await _log(stub)
            return any(m.id == root and m.status == message_pb2.MESSAGE_STATUS_COMPLETE for m in log)

        await eventually(reported, timeout=120, what="the report after the restart")
        log = await _log(stub)

    replies = [m for m in log if m.performative == "reply" and m.parent_id == root]
    assert [r.content.string_value for r in replies] == ["report: 42 rows\nup 3%"]
    delegated = [m for m in log if m.parent_id == root and m.performative == "request"]
    assert sorted(m.receiver.id for m in delegated) == sorted([data, analysis])  # none sent twice
    assert all(m.correlation_id == root for m in delegated)
    for message in delegated:
        answers = [m for m in log if m.performative == "reply" and m.parent_id == message.id]
        assert len(answers) == 1 and message.status == message_pb2.MESSAGE_STATUS_COMPLETE
