"""SendMessage -> runtime -> reply, the message log, and conversation event streams."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.protobuf import struct_pb2

from agentmesh.agents.v1 import agent_pb2, message_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.common.v1 import participant_pb2
from agentmesh_agents.adapters.nats_events import WATCH_IDLE_SECONDS
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_devstack.waiting import eventually
from agentmesh_events.subjects import EVENTS_STREAM
from agentmesh_grpc.identity import acting_as

EVENT = message_pb2.ConversationEventType


async def _agent(service, name="helper") -> agent_pb2.Agent:
    with acting_as(service.admin):
        response = await service.stub.CreateAgent(
            pb.CreateAgentRequest(
                project_id=service.project, agent=agent_pb2.Agent(name=name, system_prompt="You echo.")
            )
        )
    return response.agent


async def _send(service, agent_id: str, text: str, who=None, **fields) -> message_pb2.Message:
    with acting_as(who or service.member):
        response = await service.stub.SendMessage(
            pb.SendMessageRequest(
                project_id=service.project, agent_id=agent_id, content=struct_pb2.Value(string_value=text), **fields
            )
        )
    return response.message


async def _events(service, conversation_id: str, after: int = 0, until=EVENT.CONVERSATION_EVENT_TYPE_REPLY):
    """Stream a conversation's events until one of type `until` arrives (or 20 s pass)."""
    seen = []
    with acting_as(service.member):
        call = service.stub.StreamConversationEvents(
            pb.StreamConversationEventsRequest(
                project_id=service.project, conversation_id=conversation_id, after_sequence=after
            )
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


async def _messages(service, **filters) -> list[message_pb2.Message]:
    with acting_as(service.member):
        response = await service.stub.ListMessages(pb.ListMessagesRequest(project_id=service.project, **filters))
    return list(response.messages)


async def test_message_is_answered_and_streamed(service):
    agent = await _agent(service)

    sent = await _send(service, agent.id, "ping")
    assert sent.status == message_pb2.MESSAGE_STATUS_QUEUED
    assert sent.sender == participant_pb2.Participant(type=participant_pb2.PARTICIPANT_TYPE_USER, id="user-1")
    events = await _events(service, sent.conversation_id)

    kinds = [e.type for e in events]
    assert kinds[0] == EVENT.CONVERSATION_EVENT_TYPE_STATUS
    assert kinds[-1] == EVENT.CONVERSATION_EVENT_TYPE_REPLY
    tokens = "".join(e.text for e in events if e.type == EVENT.CONVERSATION_EVENT_TYPE_TOKEN)
    assert tokens == "echo: ping"
    reply = events[-1].reply
    assert reply.content.string_value == "echo: ping"
    assert reply.parent_id == sent.id
    assert reply.sender.type == participant_pb2.PARTICIPANT_TYPE_AGENT and reply.sender.id == agent.id
    assert [e.sequence for e in events] == sorted({e.sequence for e in events})
    assert all(e.message_id == sent.id for e in events)

    log = await _messages(service, conversation_id=sent.conversation_id)
    assert [(m.id, m.status) for m in log] == [
        (reply.id, message_pb2.MESSAGE_STATUS_COMPLETE),
        (sent.id, message_pb2.MESSAGE_STATUS_COMPLETE),
    ]
    prompt = service.inference.calls[-1].turns
    assert prompt[0].content.startswith("You echo.") and "Agents reply politely." in prompt[0].content

    # The client went away: the service closed its watch, and the server removes the unused consumer.
    async def no_consumers() -> bool:
        return not await service.js.consumers_info(EVENTS_STREAM)

    await eventually(no_consumers, timeout=WATCH_IDLE_SECONDS + 5, what="the conversation watch's consumer to go")


async def test_stream_resumes_after_a_sequence(service):
    agent = await _agent(service)
    sent = await _send(service, agent.id, "one")
    first = await _events(service, sent.conversation_id)

    resumed = await _events(service, sent.conversation_id, after=first[1].sequence)
    assert [e.sequence for e in resumed] == [e.sequence for e in first[2:]]

    follow_up = await _send(service, agent.id, "two", conversation_id=sent.conversation_id)
    live = await _events(service, sent.conversation_id, after=first[-1].sequence)
    assert all(e.message_id == follow_up.id for e in live)
    assert live[-1].reply.content.string_value == "echo: two"
    history = [t.content for t in service.inference.calls[-1].turns[1:]]
    assert history == ["one", "echo: one", "two"]


async def test_conversation_of_another_project_is_not_found(service):
    agent = await _agent(service)
    sent = await _send(service, agent.id, "hello")
    await _events(service, sent.conversation_id)
    with acting_as(service.outsider):
        call = service.stub.StreamConversationEvents(
            pb.StreamConversationEventsRequest(project_id=service.project, conversation_id=sent.conversation_id)
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with acting_as(service.member), pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.StreamConversationEvents(
            pb.StreamConversationEventsRequest(project_id=service.project, conversation_id=str(uuid.uuid4()))
        ).read()
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_stream_is_accepted_before_its_first_event(service):
    """Headers come as soon as the conversation is found: a caller can tell an accepted watch
    from NOT_FOUND without waiting for an event (the gateway answers 404 or starts SSE on it)."""
    agent = await _agent(service)
    sent = await _send(service, agent.id, "hi")
    seen = await _events(service, sent.conversation_id)
    with acting_as(service.member):
        quiet = service.stub.StreamConversationEvents(
            pb.StreamConversationEventsRequest(
                project_id=service.project, conversation_id=sent.conversation_id, after_sequence=seen[-1].sequence
            )
        )
        unknown = service.stub.StreamConversationEvents(
            pb.StreamConversationEventsRequest(project_id=service.project, conversation_id=str(uuid.uuid4()))
        )
    try:
        await asyncio.wait_for(quiet.initial_metadata(), timeout=5)
        assert not quiet.done()
        await asyncio.wait_for(unknown.initial_metadata(), timeout=5)
        assert unknown.done() and await unknown.code() == grpc.StatusCode.NOT_FOUND
    finally:
        quiet.cancel()


async def test_idempotent_send_and_system_sender(service):
    agent = await _agent(service)
    scheduler = Identity("scheduler", GlobalRole.SERVICE)
    first = await _send(service, agent.id, "run", who=scheduler, idempotency_key="run-1", correlation_id="sched-1")
    again = await _send(service, agent.id, "run", who=scheduler, idempotency_key="run-1")
    assert again.id == first.id
    assert first.sender.type == participant_pb2.PARTICIPANT_TYPE_SYSTEM and first.sender.id == "scheduler"
    events = await _events(service, first.conversation_id)
    assert events[-1].reply.correlation_id == "sched-1"
    # One agent's messages are answered in order, so once a later message is answered anything
    # the repeated send could have caused (a second reply) would be in the log already.
    await _send(service, agent.id, "later", conversation_id=first.conversation_id)
    await _events(service, first.conversation_id, after=events[-1].sequence)
    assert len(await _messages(service, conversation_id=first.conversation_id)) == 4  # run, its reply, later, reply


async def test_list_messages_filters(service):
    alice, bob = await _agent(service, "alice"), await _agent(service, "bob")
    to_alice = await _send(service, alice.id, "for alice")
    await _events(service, to_alice.conversation_id)
    to_bob = await _send(service, bob.id, "for bob")
    await _events(service, to_bob.conversation_id)

    assert len(await _messages(service, agent_id=alice.id)) == 2
    assert {m.receiver.id for m in await _messages(service, agent_id=bob.id)} == {bob.id, "user-1"}
    complete = await _messages(service, status=message_pb2.MESSAGE_STATUS_COMPLETE)
    assert len(complete) == 4
    page = await _messages(service, page_size=3)
    assert len(page) == 3


async def test_message_log_pages_are_stable_while_messages_arrive(service):
    agent = await _agent(service, "pager")
    for n in range(4):
        await _send(service, agent.id, f"m{n}")
    seen: list[str] = []
    token = ""
    with acting_as(service.member):
        while True:
            page = await service.stub.ListMessages(
                pb.ListMessagesRequest(project_id=service.project, agent_id=agent.id, page_size=2, page_token=token)
            )
            seen += [m.id for m in page.messages]
            if not page.next_page_token:
                break
            token = page.next_page_token
            await _send(service, agent.id, "arrived while paging")  # newer than every page read so far
    assert len(seen) == len(set(seen))
    first_four = {m.id for m in await _messages(service, agent_id=agent.id, page_size=50) if m.content.string_value
                  in {"m0", "m1", "m2", "m3"}}  # fmt: skip
    assert first_four <= set(seen)  # nothing that existed before paging was skipped
    # A cursor is opaque and tamper-evident; an edited one is bad input, not another page. The first
    # character is edited: all its bits are data (a last one's may be padding, and "xx" could decode
    # to the very bytes it replaced).
    edited = ("B" if token[0] == "A" else "A") + token[1:]
    with acting_as(service.member), pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.ListMessages(
            pb.ListMessagesRequest(project_id=service.project, page_size=2, page_token=edited)
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_bad_messages_are_invalid_argument(service):
    agent = await _agent(service)
    requests = [
        pb.SendMessageRequest(project_id=service.project, agent_id=agent.id),
        pb.SendMessageRequest(
            project_id=service.project, agent_id=agent.id, content=struct_pb2.Value(string_value="  ")
        ),
        pb.SendMessageRequest(
            project_id=service.project, agent_id=agent.id, content=struct_pb2.Value(string_value="x" * 40_000)
        ),
        pb.SendMessageRequest(project_id=service.project, agent_id="bad", content=struct_pb2.Value(string_value="hi")),
        pb.SendMessageRequest(
            project_id=service.project,
            agent_id=agent.id,
            content=struct_pb2.Value(string_value="hi"),
            conversation_id="not-a-uuid",
        ),
    ]
    codes = []
    for request in requests:
        with acting_as(service.member), pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.stub.SendMessage(request)
        codes.append(caught.value.code())
    for request in [
        pb.ListMessagesRequest(project_id=service.project, agent_id="bad"),
        pb.ListMessagesRequest(project_id=service.project, status=99),
    ]:
        with acting_as(service.member), pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.stub.ListMessages(request)
        codes.append(caught.value.code())
    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * len(codes)


async def test_message_to_unknown_agent_is_not_found(service):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _send(service, str(uuid.uuid4()), "anyone?")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_delete_project_data(service):
    agent = await _agent(service)
    sent = await _send(service, agent.id, "bye")
    await _events(service, sent.conversation_id)

    with acting_as(service.admin):
        response = await service.stub.DeleteProjectData(pb.DeleteProjectDataRequest(project_id=service.project))
    assert dict(response.removed) == {"agents": 1.0, "messages": 2.0, "publications": 0.0}
    assert await _messages(service) == []
    with acting_as(service.member), pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.StreamConversationEvents(
            pb.StreamConversationEventsRequest(project_id=service.project, conversation_id=sent.conversation_id)
        ).read()
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
