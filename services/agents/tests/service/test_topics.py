"""PublishToTopic over gRPC: the real servicer and runtime answer each subscriber once."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from agentmesh.agents.v1 import agent_pb2, message_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.identity import acting_as


async def _agent(service, name: str, *topics: str) -> str:
    agent = agent_pb2.Agent(name=name, system_prompt="You echo.", topics=list(topics))
    with acting_as(service.admin):
        response = await service.stub.CreateAgent(pb.CreateAgentRequest(project_id=service.project, agent=agent))
    return response.agent.id


def _publish(service, topic: str, text: str, key: str = "") -> pb.PublishToTopicRequest:
    return pb.PublishToTopicRequest(
        project_id=service.project, topic=topic, content=struct_pb2.Value(string_value=text), idempotency_key=key
    )


async def test_each_subscriber_gets_one_message_and_answers_it(service) -> None:
    subscribers = {await _agent(service, "a", "daily"), await _agent(service, "b", "daily", "news")}
    await _agent(service, "c", "news")

    with acting_as(service.member):
        first = await service.stub.PublishToTopic(_publish(service, "daily", "report", key="run-1"))
        again = await service.stub.PublishToTopic(_publish(service, "daily", "report", key="run-1"))

    assert {m.receiver.id for m in first.messages} == subscribers
    assert [m.id for m in again.messages] == [m.id for m in first.messages]
    assert all(m.sender.id == service.member.subject and m.correlation_id for m in first.messages)

    async def answered() -> bool:
        with acting_as(service.member):
            log = await service.stub.ListMessages(pb.ListMessagesRequest(project_id=service.project, page_size=100))
        replies = [m for m in log.messages if m.performative == "reply"]
        requests = [m for m in log.messages if m.performative == "request"]
        return len(requests) == 2 and sorted(r.parent_id for r in replies) == sorted(m.id for m in first.messages)

    await eventually(answered, timeout=30, what="each subscriber to answer once")
    with acting_as(service.member):
        log = await service.stub.ListMessages(pb.ListMessagesRequest(project_id=service.project, page_size=100))
    assert all(m.status == message_pb2.MESSAGE_STATUS_COMPLETE for m in log.messages if m.performative == "request")


async def test_bad_input_and_outsiders_are_refused(service) -> None:
    await _agent(service, "a", "daily")
    cases = [
        (service.member, _publish(service, "bad topic", "x"), grpc.StatusCode.INVALID_ARGUMENT),
        (service.member, _publish(service, "daily", ""), grpc.StatusCode.INVALID_ARGUMENT),
        (service.member, _publish(service, "daily", "x", key="k" * 201), grpc.StatusCode.INVALID_ARGUMENT),
        (service.outsider, _publish(service, "daily", "x"), grpc.StatusCode.NOT_FOUND),
    ]
    for who, request, code in cases:
        with acting_as(who), pytest.raises(grpc.aio.AioRpcError) as refused:
            await service.stub.PublishToTopic(request)
        assert refused.value.code() == code, (request, refused.value.details())
    with acting_as(service.member):
        log = await service.stub.ListMessages(pb.ListMessagesRequest(project_id=service.project, page_size=100))
    assert list(log.messages) == []
