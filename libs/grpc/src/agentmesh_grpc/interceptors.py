"""Server and client interceptors: identity, request ids, error mapping.

The server interceptor checks the caller's identity for the handler kinds it
wraps (unary-unary, unary-stream and bidirectional, all that agentmesh serves;
a bidirectional call's identity is checked once, when it starts). Client-streaming
is refused with UNIMPLEMENTED rather than served unchecked: serving it means
teaching this interceptor to check it first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from agentmesh_core.errors import AgentmeshError, ResourceExhausted, Unauthenticated
from agentmesh_core.identity import Identity
from agentmesh_core.quotas import retry_after_header
from agentmesh_core.tokens import IdentitySigner
from agentmesh_grpc.errors import RETRY_AFTER_METADATA_KEY, status_for
from agentmesh_grpc.identity import IDENTITY_METADATA_KEY, acting_as, current_identity, set_caller
from agentmesh_grpc.trust import Trust, audience_of
from agentmesh_observability import context, tracing
from agentmesh_observability.logging import error_summary

log = logging.getLogger(__name__)

# Health and reflection answer anyone (probes have no identity).
_OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")

if TYPE_CHECKING:  # grpc's classes are generic only in its type stubs
    # Interceptors see every method, so requests and responses are of any message type.
    _Handler = grpc.RpcMethodHandler[Any, Any]
    _Context = grpc.aio.ServicerContext[Any, Any]
    _Metadata = Sequence[tuple[str, str | bytes]]


def _metadata(ctx: _Context) -> dict[str, str]:
    return {key: value for key, value in (ctx.invocation_metadata() or ()) if isinstance(value, str)}


async def _abort(ctx: _Context, error: BaseException, method: str) -> NoReturn:
    if isinstance(error, ResourceExhausted) and error.retry_after is not None:
        # The gateway turns this into the HTTP Retry-After of its 429.
        trailer = ((RETRY_AFTER_METADATA_KEY, retry_after_header(error.retry_after)),)
        await ctx.abort(status_for(error), error.message, trailing_metadata=trailer)
    if isinstance(error, AgentmeshError):
        await ctx.abort(status_for(error), error.message)
    # One short line, the request id bound: no exception text (it may hold tenant data).
    log.error("unhandled error in %s: %s", method, error_summary(error))
    await ctx.abort(grpc.StatusCode.INTERNAL, "internal error")


def _refuse(method: str) -> Callable[[Any, _Context], Awaitable[Any]]:
    async def refuse(_request: Any, ctx: _Context) -> Any:
        await ctx.abort(grpc.StatusCode.UNIMPLEMENTED, "method not served")

    log.error("refusing %s: the identity check does not cover its handler kind", method)
    return refuse


class ServerInterceptor(grpc.aio.ServerInterceptor):
    """Admits the caller identity (agentmesh_grpc.trust), binds log context and maps errors to status."""

    def __init__(self, trust: Trust) -> None:
        self._trust = trust

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[_Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> _Handler | None:
        handler = await continuation(details)
        method = details.method
        if handler is None or method.startswith(_OPEN_PREFIXES):
            return handler
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                # grpc's stubs type handlers as sync (an Iterator); under grpc.aio they are async generators.
                self._wrap_stream(handler.unary_stream, method),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream:
            # The same wrapper: what it passes on is the request iterator instead of a request.
            return grpc.stream_stream_rpc_method_handler(
                self._wrap_stream(handler.stream_stream, method),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        # Client-streaming: no identity check wraps it, so never serve it.
        return grpc.stream_unary_rpc_method_handler(
            _refuse(method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _identity(self, metadata: dict[str, str], method: str) -> Identity:
        token = metadata.get(IDENTITY_METADATA_KEY)
        if not token:
            raise Unauthenticated("missing caller identity")
        return self._trust.admit(token, method)

    def _wrap_unary(
        self, behavior: Callable[..., Awaitable[Any]], method: str
    ) -> Callable[[Any, _Context], Awaitable[Any]]:
        async def wrapper(request: Any, ctx: _Context) -> Any:
            metadata = _metadata(ctx)
            request_id = metadata.get(context.REQUEST_ID_HEADER) or context.new_request_id()
            tracing.set_request_id(request_id)
            with context.bind(request_id=request_id):
                try:
                    with acting_as(self._identity(metadata, method)):
                        return await behavior(request, ctx)
                except Exception as error:  # noqa: BLE001 - the seam maps every error
                    await _abort(ctx, error, method)

        return wrapper

    def _wrap_stream(
        self, behavior: Callable[..., AsyncIterator[Any]], method: str
    ) -> Callable[[Any, _Context], AsyncIterator[Any]]:
        async def wrapper(request: Any, ctx: _Context) -> AsyncIterator[Any]:
            # No context managers across yields: a cancelled stream is closed from
            # another context, where resetting ContextVar tokens raises.
            metadata = _metadata(ctx)
            request_id = metadata.get(context.REQUEST_ID_HEADER) or context.new_request_id()
            tracing.set_request_id(request_id)
            context.set_fields(request_id=request_id)
            try:
                set_caller(self._identity(metadata, method))
                async for item in behavior(request, ctx):
                    yield item
            except Exception as error:  # noqa: BLE001 - the seam maps every error
                await _abort(ctx, error, method)

        return wrapper


def _outgoing_metadata(signer: IdentitySigner, details: grpc.aio.ClientCallDetails) -> _Metadata:
    metadata = list(details.metadata or [])
    keys = {key for key, _ in metadata}
    request_id = context.current("request_id")
    if request_id and context.REQUEST_ID_HEADER not in keys:
        metadata.append((context.REQUEST_ID_HEADER, request_id))
    identity = current_identity()
    if identity is not None and IDENTITY_METADATA_KEY not in keys:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        metadata.append((IDENTITY_METADATA_KEY, signer.issue(identity, audience_of(method))))
    return metadata


def _with_metadata(
    details: grpc.aio.ClientCallDetails, metadata: _Metadata, default_timeout: float | None
) -> grpc.aio.ClientCallDetails:
    return grpc.aio.ClientCallDetails(
        method=details.method,
        timeout=details.timeout if details.timeout is not None else default_timeout,
        metadata=grpc.aio.Metadata.from_tuple(metadata),
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


class UnaryIdentityInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds identity (signed for the method's service) and request id to unary calls, and a default deadline."""

    def __init__(self, signer: IdentitySigner, default_timeout: float) -> None:
        self._signer = signer
        self._timeout = default_timeout

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[grpc.aio.UnaryUnaryCall[Any, Any]]],
        details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> grpc.aio.UnaryUnaryCall[Any, Any]:
        new = _with_metadata(details, _outgoing_metadata(self._signer, details), self._timeout)
        return await continuation(new, request)


class StreamIdentityInterceptor(grpc.aio.UnaryStreamClientInterceptor):
    """Adds identity and request id to server-streaming calls (deadline set per call)."""

    def __init__(self, signer: IdentitySigner) -> None:
        self._signer = signer

    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[grpc.aio.UnaryStreamCall[Any, Any]]],
        details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> grpc.aio.UnaryStreamCall[Any, Any]:
        new = _with_metadata(details, _outgoing_metadata(self._signer, details), None)
        return await continuation(new, request)
