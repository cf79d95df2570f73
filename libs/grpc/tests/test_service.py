"""The service skeleton: health NOT_SERVING while a service starts, SERVING once started,
clean stops (also mid start-up), fatal background tasks, resources closed in reverse order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_core.startup import wait_for
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.late import LateServicer
from agentmesh_grpc.service import Listener, Registration, serve
from agentmesh_grpc.trust import ServiceKeys

SERVICE_NAME = "agentmesh.inference.v1.InferenceService"
CALLER = Identity(subject="test", role=GlobalRole.SERVICE)


class EchoServicer(pb_grpc.InferenceServiceServicer):
    async def GetModelInfo(self, request: pb.GetModelInfoRequest, context: Any) -> pb.GetModelInfoResponse:
        return pb.GetModelInfoResponse(model="echo")

    async def Generate(self, request: pb.GenerateRequest, context: Any) -> AsyncIterator[pb.GenerateResponse]:
        for word in request.prompt.split():
            yield pb.GenerateResponse(text=word)


def register(server: grpc.aio.Server, servicer: Any) -> None:
    pb_grpc.add_InferenceServiceServicer_to_server(servicer, server)


class FakeService:
    """Opens two resources, waits for a dependency, then binds its late servicer."""

    name = "fake"

    def __init__(self, dependency_up: asyncio.Event, fail_start: bool = False) -> None:
        self.listener = Listener(f"127.0.0.1:{free_port()}", ServiceKeys.local("inference"), shutdown_grace_seconds=0.5)
        self.dependency_up = dependency_up
        self.fail_start = fail_start
        self.events: list[str] = []
        self.essential: asyncio.Task[None] | None = None
        self.finish_essential = asyncio.Event()
        self.servicer = LateServicer(EchoServicer, "the fake service")
        self.registrations = [Registration(SERVICE_NAME, register, self.servicer)]

    async def start(self, stack: AsyncExitStack, stop: asyncio.Event) -> Sequence[asyncio.Task[None]]:
        stack.callback(self.events.append, "closed first resource")
        stack.callback(self.events.append, "closed second resource")

        async def dependency() -> None:
            if not self.dependency_up.is_set():
                raise ConnectionError("down")

        await wait_for("dependency", dependency, stop, first_delay=0.05, max_delay=0.05)
        if self.fail_start:
            raise RuntimeError("broken configuration")
        self.servicer.bind(EchoServicer())
        self.essential = asyncio.create_task(self.finish_essential.wait(), name="essential worker")
        return [self.essential]


@asynccontextmanager
async def running(
    service: FakeService, stop: asyncio.Event, on_ready: Callable[[], None] | None = None
) -> AsyncIterator[tuple[asyncio.Task[None], Any]]:
    task = asyncio.create_task(serve(service, stop, on_ready))
    channel = create_channel(service.listener.addr, ServiceKeys.local("gateway").signer)
    try:
        yield task, channel
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)
        await channel.close()


async def health(channel: Any) -> int:
    async def answer() -> tuple[int] | None:  # a tuple: UNKNOWN (0) is an answer too
        try:
            response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return None  # not listening yet
        return (response.status,)

    (status,) = await eventually(answer, timeout=10, interval=0.05, what="the server to answer a health check")
    return status


async def until_serving(channel: Any) -> None:
    async def serving() -> bool:
        return await health(channel) == health_pb2.HealthCheckResponse.SERVING

    await eventually(serving, timeout=10, interval=0.05, what="the server to be SERVING")


async def test_not_serving_and_unavailable_until_started_then_serving() -> None:
    up, stop = asyncio.Event(), asyncio.Event()
    service = FakeService(up)
    async with running(service, stop) as (task, channel):
        assert await health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
        stub = pb_grpc.InferenceServiceStub(channel)
        with acting_as(CALLER), pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetModelInfo(pb.GetModelInfoRequest())
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert caught.value.details() == "the fake service is starting"

        up.set()
        await until_serving(channel)
        with acting_as(CALLER):
            assert (await stub.GetModelInfo(pb.GetModelInfoRequest())).model == "echo"
            assert [r.text async for r in stub.Generate(pb.GenerateRequest(prompt="a b"))] == ["a", "b"]

        stop.set()
        await asyncio.wait_for(task, 10)
    assert service.events == ["closed second resource", "closed first resource"]
    assert service.essential is not None and service.essential.done()


async def test_on_ready_runs_once_the_service_has_started() -> None:
    up, stop = asyncio.Event(), asyncio.Event()
    service = FakeService(up)

    def ready() -> None:
        service.events.append(f"ready, started: {service.essential is not None}")

    async with running(service, stop, ready) as (_, channel):
        assert await health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert service.events == []
        up.set()
        await until_serving(channel)
        assert service.events == ["ready, started: True"]


async def test_stop_while_waiting_for_a_dependency_ends_cleanly() -> None:
    stop = asyncio.Event()
    service = FakeService(asyncio.Event())
    async with running(service, stop, lambda: service.events.append("ready")) as (task, channel):
        assert await health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
        stop.set()
        await asyncio.wait_for(task, 10)  # returns: no error
    assert service.events == ["closed second resource", "closed first resource"]


async def test_an_essential_task_ending_early_fails_the_service() -> None:
    up, stop = asyncio.Event(), asyncio.Event()
    up.set()
    service = FakeService(up)
    async with running(service, stop) as (task, channel):
        await until_serving(channel)
        service.finish_essential.set()
        with pytest.raises(RuntimeError, match="essential worker stopped unexpectedly"):
            await asyncio.wait_for(task, 10)
        assert stop.is_set()  # what runs until stop winds down too
    assert service.events == ["closed second resource", "closed first resource"]


async def test_a_failing_start_fails_the_service_and_closes_what_it_opened() -> None:
    up, stop = asyncio.Event(), asyncio.Event()
    up.set()
    service = FakeService(up, fail_start=True)
    async with running(service, stop) as (task, _):
        with pytest.raises(RuntimeError, match="broken configuration"):
            await asyncio.wait_for(task, 10)
    assert service.events == ["closed second resource", "closed first resource"]
