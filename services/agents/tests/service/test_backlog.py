"""Back-pressure through the real servicer: past the project's unanswered messages, SendMessage is
RESOURCE_EXHAUSTED with a retry time (the gateway's 429 + Retry-After) and nothing is stored."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from agentmesh.agents.v1 import agent_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_grpc.errors import RETRY_AFTER_METADATA_KEY
from agentmesh_grpc.identity import acting_as


@pytest.fixture(autouse=True)
def small_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for two unanswered messages per project (the service fixture's settings read the environment)."""
    monkeypatch.setenv("AGENTMESH_PROJECT_UNANSWERED_MAX", "2")
    monkeypatch.setenv("AGENTMESH_BACKLOG_RETRY_AFTER_SECONDS", "7")


async def test_a_project_with_too_many_unanswered_messages_is_refused_with_a_retry_time(service) -> None:
    with acting_as(service.admin):
        # A paused agent answers nothing: its messages stay queued.
        asleep = agent_pb2.Agent(name="asleep", status=agent_pb2.AGENT_STATUS_PAUSED)
        agent = (await service.stub.CreateAgent(pb.CreateAgentRequest(project_id=service.project, agent=asleep))).agent
        send = pb.SendMessageRequest(
            project_id=service.project, agent_id=agent.id, content=struct_pb2.Value(string_value="hello")
        )
        accepted = [await service.stub.SendMessage(send) for _ in range(2)]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await service.stub.SendMessage(send)
        listed = await service.stub.ListMessages(pb.ListMessagesRequest(project_id=service.project))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "waiting for an answer" in (refused.value.details() or "")
    trailers = dict(refused.value.trailing_metadata() or ())
    assert trailers[RETRY_AFTER_METADATA_KEY] == "7"
    assert sorted(m.id for m in listed.messages) == sorted(a.message.id for a in accepted)
