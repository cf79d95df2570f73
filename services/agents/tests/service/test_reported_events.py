"""ReportSystemEvent over a real gRPC server and JetStream: the scheduler's key, as itself,
reports a failed schedule run and it lands on AM_SYSTEM once; every other caller is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2_grpc
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.common.v1 import system_event_pb2
from agentmesh_agents.adapters.system_events import NatsSystemEvents
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys

SCHEDULER = Identity("scheduler", GlobalRole.SERVICE)


@pytest.fixture
async def signed_by(service) -> AsyncIterator:
    channels: list[grpc.aio.Channel] = []

    def stub(name: str) -> agent_service_pb2_grpc.AgentServiceStub:
        channels.append(create_channel(f"127.0.0.1:{service.port}", ServiceKeys.local(name).signer))
        return agent_service_pb2_grpc.AgentServiceStub(channels[-1])

    yield stub
    for channel in channels:
        await channel.close()


def _report(project_id: str, agent_id: str, key: str) -> pb.ReportSystemEventRequest:
    return pb.ReportSystemEventRequest(
        project_id=project_id,
        agent_id=agent_id,
        kind=system_event_pb2.SYSTEM_EVENT_KIND_SCHEDULE_FAILED,
        detail="schedule s1: failed: agent not found",
        occurrence_key=key,
        subject="schedule s1",
    )


async def _code(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def _events_of(service, project_id: str, since: datetime, count: int) -> list[SystemEvent]:
    """The project's first `count` system events on AM_SYSTEM from `since`."""
    found: list[SystemEvent] = []
    async for event in NatsSystemEvents(service.js).subscribe(since):
        if event.project_id == project_id:
            found.append(event)
            if len(found) == count:
                return found
    return found


async def test_the_schedulers_report_lands_on_am_system_once(service, signed_by) -> None:
    with acting_as(service.admin):
        agent = (
            await service.stub.CreateAgent(
                pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name="target"))
            )
        ).agent
    since = datetime.now(UTC) - timedelta(seconds=1)
    scheduler = signed_by("scheduler")
    with acting_as(SCHEDULER):
        first = await scheduler.ReportSystemEvent(_report(service.project, agent.id, "run-1"))
        again = await scheduler.ReportSystemEvent(_report(service.project, agent.id, "run-1"))  # a retry
        other = await scheduler.ReportSystemEvent(_report(service.project, "", "run-2"))
    assert first.event_id == again.event_id != other.event_id
    events = await asyncio.wait_for(_events_of(service, service.project, since, 2), timeout=20)
    assert [e.id for e in events] == [first.event_id, other.event_id]  # the retry was stored once
    assert events[0].kind is SystemEventKind.SCHEDULE_FAILED and events[0].agent_id == agent.id
    assert events[0].detail == "schedule s1: failed: agent not found" and events[1].agent_id == ""
    assert events[0].subject == "schedule s1"  # through the request, the servicer and the stream


async def test_only_the_schedulers_key_as_itself_may_report(service, signed_by) -> None:
    with acting_as(service.admin):
        agent = (
            await service.stub.CreateAgent(
                pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name="target"))
            )
        ).agent
    request = _report(service.project, agent.id, "run-1")
    with acting_as(SCHEDULER):  # the gateway may assert anyone, but not here
        assert await _code(service.stub.ReportSystemEvent(request)) == grpc.StatusCode.PERMISSION_DENIED
        assert await _code(signed_by("memory").ReportSystemEvent(request)) == grpc.StatusCode.PERMISSION_DENIED
    with acting_as(service.admin):  # the scheduler calling for a user
        assert await _code(signed_by("scheduler").ReportSystemEvent(request)) == grpc.StatusCode.PERMISSION_DENIED
    scheduler = signed_by("scheduler")
    with acting_as(SCHEDULER):
        turn_failed = pb.ReportSystemEventRequest(
            project_id=service.project,
            kind=system_event_pb2.SYSTEM_EVENT_KIND_TURN_FAILED,
            detail="x",
            occurrence_key="k",
        )
        assert await _code(scheduler.ReportSystemEvent(turn_failed)) == grpc.StatusCode.PERMISSION_DENIED
        unset = pb.ReportSystemEventRequest(project_id=service.project, occurrence_key="k")
        assert await _code(scheduler.ReportSystemEvent(unset)) == grpc.StatusCode.INVALID_ARGUMENT
        elsewhere = _report(service.outsider.project_id, agent.id, "run-1")
        assert await _code(scheduler.ReportSystemEvent(elsewhere)) == grpc.StatusCode.NOT_FOUND
        long_detail = _report(service.project, agent.id, "run-1")
        long_detail.detail = "d" * 1001
        assert await _code(scheduler.ReportSystemEvent(long_detail)) == grpc.StatusCode.INVALID_ARGUMENT
