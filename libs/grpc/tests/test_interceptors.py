"""The server interceptor: client-streaming (which it cannot check) is refused, a
bidirectional call is served only to a verified identity, and a RESOURCE_EXHAUSTED
answer carries its retry time to the caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from agentmesh_core.errors import ResourceExhausted
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_devstack.ports import free_port
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.identity import IDENTITY_METADATA_KEY, acting_as, caller
from agentmesh_grpc.interceptors import ServerInterceptor
from agentmesh_grpc.server import ServiceServer
from agentmesh_grpc.trust import ServiceKeys

CALLER = Identity(subject="test", role=GlobalRole.SERVICE)


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code


class FakeContext:
    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ((IDENTITY_METADATA_KEY, ServiceKeys.local("gateway").signer.issue(CALLER, "inference")),)

    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()) -> None:
        raise Aborted(code, details)


class Details:
    method = "/agentmesh.inference.v1.TestService/Upload"


async def test_client_streaming_handlers_are_refused_not_served() -> None:
    served: list[str] = []

    async def upload(requests: Any, ctx: Any) -> bytes:
        served.append("ran")  # an identity-unchecked handler must never get here
        return b""

    async def continuation(_details: Any) -> Any:
        return grpc.stream_unary_rpc_method_handler(upload)

    handler = await ServerInterceptor(ServiceKeys.local("inference").trust).intercept_service(continuation, Details())  # type: ignore[arg-type]
    assert handler is not None and handler.stream_unary is not None and handler.stream_unary is not upload
    with pytest.raises(Aborted) as aborted:
        await handler.stream_unary(iter(()), FakeContext())
    assert aborted.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert served == []


async def _exhausted(_request: bytes, _ctx: Any) -> bytes:
    raise ResourceExhausted("too many adds in progress; retry later", retry_after=2.5)


async def _upload(requests: AsyncIterator[bytes], _ctx: Any) -> bytes:
    raise AssertionError("served without an identity check")


async def _echo(requests: AsyncIterator[bytes], _ctx: Any) -> AsyncIterator[bytes]:
    """Each request back, prefixed with the caller the interceptor bound."""
    async for request in requests:
        yield caller().subject.encode() + b":" + request


@pytest.fixture
async def server() -> AsyncIterator[str]:
    addr = f"127.0.0.1:{free_port()}"
    service = ServiceServer(ServiceKeys.local("inference").trust, addr)
    handlers = {
        "Exhausted": grpc.unary_unary_rpc_method_handler(_exhausted),
        "Upload": grpc.stream_unary_rpc_method_handler(_upload),
        "Echo": grpc.stream_stream_rpc_method_handler(_echo),
    }
    service.server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("agentmesh.inference.v1.TestService", handlers),)
    )
    await service.start()
    try:
        yield addr
    finally:
        await service.stop(0)


async def test_resource_exhausted_reaches_the_caller_with_its_retry_time(server: str) -> None:
    channel = create_channel(server, ServiceKeys.local("gateway").signer)
    try:
        with acting_as(CALLER), pytest.raises(grpc.aio.AioRpcError) as failed:
            await channel.unary_unary("/agentmesh.inference.v1.TestService/Exhausted")(b"")
    finally:
        await channel.close()
    assert failed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    error = from_rpc_error(failed.value)
    assert isinstance(error, ResourceExhausted)
    assert (error.message, error.retry_after) == ("too many adds in progress; retry later", 3.0)


async def test_a_real_server_refuses_a_client_streaming_call_even_with_an_identity(server: str) -> None:
    metadata = ((IDENTITY_METADATA_KEY, ServiceKeys.local("gateway").signer.issue(CALLER, "inference")),)
    async with grpc.aio.insecure_channel(server) as channel:
        # No request is written: a write racing the server's refusal fails the call as INTERNAL
        # on the client ("Failed execute_batch"), hiding the status the server sent.
        call = channel.stream_unary("/agentmesh.inference.v1.TestService/Upload")(metadata=metadata)
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await call
    assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_a_bidirectional_call_is_served_to_a_verified_identity_bound_as_its_caller(server: str) -> None:
    metadata = ((IDENTITY_METADATA_KEY, ServiceKeys.local("gateway").signer.issue(CALLER, "inference")),)
    async with grpc.aio.insecure_channel(server) as channel:
        call = channel.stream_stream("/agentmesh.inference.v1.TestService/Echo")(iter([b"a", b"b"]), metadata=metadata)
        assert [response async for response in call] == [b"test:a", b"test:b"]


@pytest.mark.parametrize("signer", [None, "memory", "agents"], ids=["none", "untrusted-issuer", "not-its-own"])
async def test_a_bidirectional_call_without_an_admitted_identity_is_refused(server: str, signer: str | None) -> None:
    # memory may not call inference at all; agents may call it only as itself (not as CALLER).
    metadata = (
        ()
        if signer is None
        else ((IDENTITY_METADATA_KEY, ServiceKeys.local(signer).signer.issue(CALLER, "inference")),)
    )
    async with grpc.aio.insecure_channel(server) as channel:
        call = channel.stream_stream("/agentmesh.inference.v1.TestService/Echo")(metadata=metadata)
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            async with asyncio.timeout(10):  # served by mistake, the echo would wait for requests
                await call.read()  # nothing written: see the client-streaming test above
    expected = grpc.StatusCode.UNAUTHENTICATED if signer != "agents" else grpc.StatusCode.PERMISSION_DENIED
    assert failed.value.code() == expected
