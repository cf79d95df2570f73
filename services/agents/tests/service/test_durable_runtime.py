"""The agents runtime through crashes and long waits, with the model scripted over gRPC.

The agents service runs as its own process (`python -m agentmesh_agents`) on real
PostgreSQL and NATS; the test serves the InferenceService (a scripted model that
echoes the message word by word, the sanctioned double for the LLM) and an empty
MemoryService over gRPC, so that the service under test is the real one, wiring
and readiness checks included. Sizes are the suite's; AGENTMESH_DURABILITY_FULL=1
runs the issue's (200 messages across 20 agents).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2_grpc, message_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2 as inference_pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as inference_grpc
from agentmesh.memory.v1 import memory_service_pb2 as memory_pb
from agentmesh.memory.v1 import memory_service_pb2_grpc as memory_grpc
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_devstack.grpc_testing import MultiplexedByGenerate, channel_to, serving
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.identity import acting_as

from .conftest import AgentsProcess

pytestmark = pytest.mark.slow

FULL = os.environ.get("AGENTMESH_DURABILITY_FULL") == "1"
AGENTS, PER_AGENT = (20, 10) if FULL else (6, 5)
INFERENCE = inference_pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
MEMORY = memory_pb.DESCRIPTOR.services_by_name["MemoryService"].full_name
log = logging.getLogger(__name__)


class EchoModel(MultiplexedByGenerate, inference_grpc.InferenceServiceServicer):
    """Answers "echo: <the last user turn>", one word per chunk, `delay` seconds apart."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def Generate(self, request, context):
        words = f"echo: {request.messages[-1].content}".split(" ")
        for index, word in enumerate(words):
            await asyncio.sleep(self.delay)
            last = index == len(words) - 1
            yield inference_pb.GenerateResponse(
                text=word if index == 0 else f" {word}",
                finish_reason=inference_pb.FINISH_REASON_STOP if last else inference_pb.FINISH_REASON_UNSPECIFIED,
            )


class NoMemories(memory_grpc.MemoryServiceServicer):
    async def ListMemories(self, request, context):
        return memory_pb.ListMemoriesResponse()

    async def SearchMemories(self, request, context):
        return memory_pb.SearchMemoriesResponse()


@pytest.fixture
async def mesh(migrated_database_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[AgentsProcess]:
    async with (
        serving(
            INFERENCE, lambda s: inference_grpc.add_InferenceServiceServicer_to_server(EchoModel(0.05), s)
        ) as model,
        serving(MEMORY, lambda s: memory_grpc.add_MemoryServiceServicer_to_server(NoMemories(), s)) as memory,
    ):
        mesh = AgentsProcess.configured(
            migrated_database_url, nats_url, model, memory, tmp_path,
            inbox_partitions="4", project_message_rate="10000/second", history_turns="0",
        )  # fmt: skip
        try:
            yield mesh
        finally:
            if mesh.process is not None:
                mesh.process.stop(grace=5, sig=signal.SIGKILL)


async def _all_messages(stub, identity: Identity) -> list[message_pb2.Message]:
    found: list[message_pb2.Message] = []
    token = ""
    with acting_as(identity):
        while True:
            page = await stub.ListMessages(
                pb.ListMessagesRequest(project_id=identity.project_id, page_size=200, page_token=token)
            )
            found.extend(page.messages)
            token = page.next_page_token
            if not token:
                return found


def _seconds(message: message_pb2.Message) -> float:
    """When the message was stored, as a Unix time."""
    return message.create_time.ToMicroseconds() / 1e6


def _check_each_answered_once_in_order(messages: list[message_pb2.Message], sent: dict[str, list[str]]) -> None:
    requests = {m.id: m for m in messages if m.performative != "reply"}
    replies = [m for m in messages if m.performative == "reply"]
    by_request: dict[str, list[message_pb2.Message]] = {}
    for reply in replies:
        by_request.setdefault(reply.parent_id, []).append(reply)
    for agent_id, ids in sent.items():
        statuses = [requests[i].status for i in ids]
        assert statuses == [message_pb2.MESSAGE_STATUS_COMPLETE] * len(ids), (agent_id, statuses)
        assert all(len(by_request.get(i, [])) == 1 for i in ids), "exactly one reply each"
        for i in ids:
            assert by_request[i][0].content.string_value == f"echo: {requests[i].content.string_value}"
        answered = sorted(ids, key=lambda i: _seconds(by_request[i][0]))
        assert answered == ids, f"agent {agent_id} answered out of order"


async def test_kill_9_of_the_agents_service_loses_repeats_and_reorders_nothing(mesh: AgentsProcess) -> None:
    project = str(uuid.uuid4())
    admin = Identity("admin-1", GlobalRole.USER, project, ProjectRole.ADMIN)
    mesh.env.update(AGENTMESH_PAUSED_RETRY_SECONDS="0.5")
    mesh.start("agents-1")
    await eventually(mesh.serving, timeout=60, what="the agents service to serve")
    async with channel_to(mesh.address) as channel:
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        agents: list[str] = []
        with acting_as(admin):
            for n in range(AGENTS):
                # Paused while the messages go in, so that all of them are queued when work starts.
                paused = agent_pb2.Agent(name=f"durable-{n}", status=agent_pb2.AGENT_STATUS_PAUSED)
                created = await stub.CreateAgent(pb.CreateAgentRequest(project_id=project, agent=paused))
                agents.append(created.agent.id)
            sent: dict[str, list[str]] = {agent: [] for agent in agents}
            for k in range(PER_AGENT):
                for agent in agents:
                    content = struct_pb2.Value(string_value=f"{agent[:8]} number {k}")
                    message = await stub.SendMessage(
                        pb.SendMessageRequest(project_id=project, agent_id=agent, content=content)
                    )
                    sent[agent].append(message.message.id)
            for agent in agents:
                active = agent_pb2.Agent(id=agent, status=agent_pb2.AGENT_STATUS_ACTIVE)
                mask = field_mask_pb2.FieldMask(paths=["status"])
                await stub.UpdateAgent(pb.UpdateAgentRequest(project_id=project, agent=active, update_mask=mask))
        total = AGENTS * PER_AGENT

        async def under_way() -> bool:
            with acting_as(admin):
                page = await stub.ListMessages(
                    pb.ListMessagesRequest(project_id=project, status=message_pb2.MESSAGE_STATUS_COMPLETE, page_size=1)
                )
            return bool(page.messages)

        await eventually(under_way, timeout=120, what="the first answers before the crash")
        mesh.kill()
        killed_at = time.time()
        mesh.start("agents-2")
        restarted_at = time.time()
        await eventually(mesh.serving, timeout=60, what="the restarted agents service to serve")

        messages = await eventually(
            lambda: _when_all_complete(stub, admin, sent), timeout=240, what="every message answered after the restart"
        )
        _check_each_answered_once_in_order(messages, sent)
        replied_at = [_seconds(m) for m in messages if m.performative == "reply"]
        done_at_kill = sum(at <= killed_at for at in replied_at)
        assert done_at_kill < total, "everything was answered before the crash: nothing to recover"
        after = sorted(at for at in replied_at if at > restarted_at)
        assert after, "replies came after the restart"
        resumed = after[0] - restarted_at
        log.warning(
            "agents kill -9 with %d messages over %d agents (%d answered at the kill): processing resumed %.1fs after "
            "the restart (%.1fs after the kill); all answered %.1fs after the restart",
            total, AGENTS, done_at_kill, resumed, after[0] - killed_at, after[-1] - restarted_at,
        )  # fmt: skip
        # The issue asks for 10 s; the slack is for a loaded CI machine (the start-up itself is counted).
        assert resumed < 20, f"processing resumed only {resumed:.1f}s after the restart"


async def test_a_message_past_the_delivery_limit_is_answered_in_order_soon_after_its_cause_clears(
    mesh: AgentsProcess,
) -> None:
    project = str(uuid.uuid4())
    admin = Identity("admin-1", GlobalRole.USER, project, ProjectRole.ADMIN)
    mesh.env.update(AGENTMESH_MAX_DELIVER="3", AGENTMESH_PAUSED_RETRY_SECONDS="0.2")
    mesh.start("agents-limit")
    await eventually(mesh.serving, timeout=60, what="the agents service to serve")
    async with channel_to(mesh.address) as channel:
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        with acting_as(admin):
            paused = agent_pb2.Agent(name="paused", status=agent_pb2.AGENT_STATUS_PAUSED)
            agent = (await stub.CreateAgent(pb.CreateAgentRequest(project_id=project, agent=paused))).agent
            sent = []
            for k in range(3):
                content = struct_pb2.Value(string_value=f"number {k}")
                request = pb.SendMessageRequest(project_id=project, agent_id=agent.id, content=content)
                sent.append((await stub.SendMessage(request)).message.id)
        # The cause: a paused agent hands its messages back until each reached the delivery limit (twice).
        await eventually(
            lambda: mesh.log_lines("agents-limit", "reached 3 deliveries; posted again") >= 6,
            timeout=60,
            what="each message past the delivery limit twice",
        )
        with acting_as(admin):
            active = agent_pb2.Agent(id=agent.id, status=agent_pb2.AGENT_STATUS_ACTIVE)
            mask = field_mask_pb2.FieldMask(paths=["status"])
            await stub.UpdateAgent(pb.UpdateAgentRequest(project_id=project, agent=active, update_mask=mask))
        cleared = time.monotonic()
        messages = await eventually(
            lambda: _when_all_complete(stub, admin, {agent.id: sent}), timeout=90, what="the three answered"
        )
        answered_in = time.monotonic() - cleared
    _check_each_answered_once_in_order(messages, {agent.id: sent})
    log.warning("messages past the delivery limit answered %.1fs after the agent was resumed", answered_in)
    assert answered_in < 60


async def _when_all_complete(stub, admin: Identity, sent: dict[str, list[str]]) -> list[message_pb2.Message] | None:
    messages = await _all_messages(stub, admin)
    statuses = {m.id: m.status for m in messages}
    wanted = [i for ids in sent.values() for i in ids]
    if all(statuses.get(i) == message_pb2.MESSAGE_STATUS_COMPLETE for i in wanted):
        return messages
    return None
