"""The stub wrappers against a real grpc.aio server (the lib's ServiceServer) on a free port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import timestamp_pb2

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2, agent_service_pb2_grpc, message_pb2
from agentmesh.common.v1 import participant_pb2
from agentmesh_core.errors import AgentmeshError, FailedPrecondition, NotFound, ResourceExhausted, Unavailable
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_gateway.clients.agents import AgentsClient
from agentmesh_gateway.clients.convert import from_value, to_value
from agentmesh_gateway.schemas.agents import AgentIn, AgentPatch
from agentmesh_gateway.schemas.messages import MessageFilter, MessageIn
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as, caller
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_observability import context

GATEWAY = ServiceKeys.local("gateway").signer
PROJECT = new_id()
ME = Identity(subject=new_id(), role=GlobalRole.USER, project_id=PROJECT, project_role=ProjectRole.ADMIN)
STAMP = timestamp_pb2.Timestamp(seconds=1_800_000_000)


class RecordingAgentService(agent_service_pb2_grpc.AgentServiceServicer):
    """Answers from canned data and records what each call carried."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Identity, str | None, object]] = []

    def _record(self, method: str, request, ctx: grpc.aio.ServicerContext) -> None:
        metadata = dict(ctx.invocation_metadata() or ())
        self.seen.append((method, caller(), metadata.get(context.REQUEST_ID_HEADER), request))

    async def CreateAgent(self, request, ctx):
        self._record("CreateAgent", request, ctx)
        agent = agent_pb2.Agent()
        agent.CopyFrom(request.agent)
        agent.id, agent.project_id = new_id(), request.project_id
        agent.create_time.CopyFrom(STAMP)
        return agent_service_pb2.CreateAgentResponse(agent=agent)

    async def GetAgent(self, request, ctx):
        self._record("GetAgent", request, ctx)
        if request.agent_id == "missing":
            raise NotFound("agent not found")
        if request.agent_id == "busy":
            await ctx.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many requests")
        raise RuntimeError("secret internals")

    async def UpdateAgent(self, request, ctx):
        self._record("UpdateAgent", request, ctx)
        return agent_service_pb2.UpdateAgentResponse(agent=request.agent)

    async def ListMessages(self, request, ctx):
        self._record("ListMessages", request, ctx)
        message = message_pb2.Message(
            id=new_id(), project_id=request.project_id, conversation_id=new_id(),
            sender=participant_pb2.Participant(type=participant_pb2.PARTICIPANT_TYPE_SYSTEM, id="scheduler"),
            receiver=participant_pb2.Participant(type=participant_pb2.PARTICIPANT_TYPE_AGENT, id=new_id()),
            performative="request", status=message_pb2.MESSAGE_STATUS_COMPLETE, create_time=STAMP,
        )  # fmt: skip
        message.content.string_value = "scheduled ping"
        return agent_service_pb2.ListMessagesResponse(messages=[message], next_page_token="next")

    async def CancelMessage(self, request, ctx):
        self._record("CancelMessage", request, ctx)
        if request.message_id == "done":
            raise FailedPrecondition("the message is already complete")
        message = message_pb2.Message(
            id=request.message_id, project_id=request.project_id, status=message_pb2.MESSAGE_STATUS_CANCELLED
        )
        return agent_service_pb2.CancelMessageResponse(message=message)

    async def StreamConversationEvents(self, request, ctx) -> AsyncIterator:
        self._record("StreamConversationEvents", request, ctx)
        if request.conversation_id == "missing":
            raise NotFound("conversation not found")
        if request.conversation_id == "quiet":  # accepted, but no event yet
            await ctx.send_initial_metadata(())
            await asyncio.Event().wait()
        base = {"conversation_id": request.conversation_id, "message_id": "m"}
        yield agent_service_pb2.StreamConversationEventsResponse(
            event=message_pb2.ConversationEvent(sequence=request.after_sequence + 1, text="Hi",
                                                type=message_pb2.CONVERSATION_EVENT_TYPE_TOKEN, **base)
        )  # fmt: skip
        yield agent_service_pb2.StreamConversationEventsResponse(
            event=message_pb2.ConversationEvent(sequence=request.after_sequence + 2,
                                                status=message_pb2.MESSAGE_STATUS_PROCESSING,
                                                type=message_pb2.CONVERSATION_EVENT_TYPE_STATUS, **base)
        )  # fmt: skip


@pytest.fixture
async def service() -> AsyncIterator[tuple[RecordingAgentService, AgentsClient]]:
    servicer = RecordingAgentService()
    server = ServiceServer(ServiceKeys.local("agents").trust, "127.0.0.1:0")
    server.add_service(
        "agentmesh.agents.v1.AgentService",
        lambda s: agent_service_pb2_grpc.add_AgentServiceServicer_to_server(servicer, s),
    )
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}", GATEWAY)
    yield servicer, AgentsClient(channel)
    await channel.close()
    await server.stop(0)


async def test_schemas_round_trip_with_identity_and_request_id(service) -> None:
    servicer, client = service
    with acting_as(ME), context.bind(request_id="req-42"):
        agent = await client.create_agent(
            PROJECT, AgentIn(name="a", model_config={"temperature": 0.5, "stop": ["\n"]}, status="paused")
        )
    assert agent.project_id == PROJECT and agent.llm_config == {"temperature": 0.5, "stop": ["\n"]}
    assert agent.status == "paused" and agent.created_at.timestamp() == STAMP.seconds and agent.updated_at is None
    method, identity, request_id, _ = servicer.seen[0]
    assert (method, identity, request_id) == ("CreateAgent", ME, "req-42")


async def test_update_sends_a_field_mask_of_what_changed(service) -> None:
    servicer, client = service
    with acting_as(ME):
        await client.update_agent(PROJECT, new_id(), AgentPatch(system_prompt="Be terse.", model_config={"t": 1}))
    request = servicer.seen[0][3]
    assert sorted(request.update_mask.paths) == ["model_config", "system_prompt"]


async def test_messages_and_enums_map_to_lowercase_names(service) -> None:
    _, client = service
    with acting_as(ME):
        page = await client.list_messages(PROJECT, MessageFilter(status="complete"), 10, "")
    (message,) = page.items
    assert page.next_cursor == "next"
    assert message.sender.model_dump() == {"type": "system", "id": "scheduler"}
    assert message.status == "complete" and message.content == "scheduled ping" and message.error is None


async def test_cancel_sends_the_ids_and_maps_the_answer(service) -> None:
    servicer, client = service
    with acting_as(ME):
        cancelled = await client.cancel_message(PROJECT, "m-1")
        with pytest.raises(FailedPrecondition):
            await client.cancel_message(PROJECT, "done")
    assert (cancelled.id, cancelled.status) == ("m-1", "cancelled")
    request = servicer.seen[0][3]
    assert (request.project_id, request.message_id) == (PROJECT, "m-1")


async def test_event_stream_maps_each_event_type(service) -> None:
    servicer, client = service
    with acting_as(ME):
        events = [event async for event in await client.open_events(PROJECT, "c", 41)]
    assert [(e.sequence, e.type, e.text, e.status) for e in events] == [
        (42, "token", "Hi", None),
        (43, "status", None, "processing"),
    ]
    assert servicer.seen[0][3].after_sequence == 41


async def test_opening_an_event_stream_waits_for_acceptance_not_for_events(service) -> None:
    _, client = service
    with acting_as(ME), pytest.raises(NotFound):
        await asyncio.wait_for(client.open_events(PROJECT, "missing", 0), timeout=5)
    with acting_as(ME):
        events = await asyncio.wait_for(client.open_events(PROJECT, "quiet", 0), timeout=5)
    pending = asyncio.ensure_future(anext(events))
    done, _ = await asyncio.wait([pending], timeout=0.2)
    assert not done  # accepted, and nothing to say yet
    pending.cancel()
    await asyncio.gather(pending, return_exceptions=True)


@pytest.mark.parametrize(
    ("agent_id", "error", "code"),
    [("missing", NotFound, "not_found"), ("busy", ResourceExhausted, "resource_exhausted"),
     ("other", AgentmeshError, "internal")],
)  # fmt: skip
async def test_status_codes_become_domain_errors(service, agent_id, error, code) -> None:
    _, client = service
    with acting_as(ME), pytest.raises(error) as raised:
        await client.get_agent(PROJECT, agent_id)
    assert raised.value.code == code
    assert "secret" not in raised.value.message


async def test_a_service_that_is_down_fails_fast_as_unavailable() -> None:
    client = AgentsClient(create_channel("127.0.0.1:9", GATEWAY))
    started = time.monotonic()
    with acting_as(ME), pytest.raises(Unavailable) as raised:
        await client.send_message(PROJECT, new_id(), MessageIn(content="hi"))
    assert time.monotonic() - started < 3
    assert raised.value.message == "the agents service is unavailable"  # no peer addresses


def test_whole_numbers_come_back_as_ints() -> None:
    assert from_value(to_value({"n": 1, "f": 0.5, "l": [2, {"m": 3}], "s": "x", "b": True, "z": None})) == {
        "n": 1,
        "f": 0.5,
        "l": [2, {"m": 3}],
        "s": "x",
        "b": True,
        "z": None,
    }
