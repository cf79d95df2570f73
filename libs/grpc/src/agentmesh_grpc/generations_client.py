"""InferenceService generations over a few long-lived GenerateMultiplexed calls.

A service that streams many generations at once (the gateway, the agents service)
starts each as a request on a shared call instead of a Generate call of its own;
the server sends the new text of all of them together, so the cost of a call and
of its messages is paid per flush window instead of per generation (the server's
side: generations_server.py). `Generations.generate(request, timeout)`
answers what `InferenceServiceStub.Generate(request, timeout=...)` does: an object
to `read()` or iterate, and `cancel()`, that fails with `grpc.aio.AioRpcError`
(the same status and trailers a Generate call would end with), so callers map
errors as before.

Each generation is signed with the identity bound when it starts (`acting_as`, as
the channel's interceptor signs a call); the call itself runs as this service. A
call that ends fails every generation on it (UNAVAILABLE when the server went
away); the next generation opens a new call. Generations are spread round-robin
over `lanes` calls, so that a target with several addresses (round_robin) gets
work on each.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections.abc import AsyncIterator

import grpc
from opentelemetry import trace

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_core.tokens import IdentitySigner
from agentmesh_grpc.errors import RETRY_AFTER_METADATA_KEY, STATUS_BY_NUMBER
from agentmesh_grpc.generations_server import GENERATE_METHOD
from agentmesh_grpc.identity import IDENTITY_METADATA_KEY, current_identity
from agentmesh_grpc.telemetry import client_span, finish_span
from agentmesh_grpc.trust import audience_of
from agentmesh_observability import tracing

log = logging.getLogger(__name__)

AUDIENCE = audience_of(GENERATE_METHOD)
# Calls generations are spread over (each a stream to one of the target's addresses).
DEFAULT_LANES = 4


def _failure(code: grpc.StatusCode, message: str, retry_after: int = 0) -> grpc.aio.AioRpcError:
    trailers = ((RETRY_AFTER_METADATA_KEY, str(retry_after)),) if retry_after else ()
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), message)


class Generation:
    """One multiplexed generation, read like a Generate call: `read()` (grpc.aio.EOF at the end),
    `async for`, `cancel()`."""

    def __init__(self, lane: _Lane, key: int, timeout: float | None, span: trace.Span | None) -> None:
        self._lane = lane
        self._key = key
        self._span = span
        self._queue: asyncio.Queue[pb.GenerateResponse | grpc.aio.AioRpcError] = asyncio.Queue()
        self._done = False
        self._expiry = asyncio.get_running_loop().call_later(timeout, self._expire) if timeout is not None else None

    async def read(self) -> pb.GenerateResponse | object:
        """The next chunk; grpc.aio.EOF after the last; AioRpcError if the generation failed."""
        if self._done and self._queue.empty():
            return grpc.aio.EOF
        item = await self._queue.get()
        if isinstance(item, grpc.aio.AioRpcError):
            raise item
        return item

    async def __aiter__(self) -> AsyncIterator[pb.GenerateResponse]:
        while isinstance(response := await self.read(), pb.GenerateResponse):
            yield response

    def cancel(self) -> None:
        """Stop the generation (its engine request is aborted); a finished one is left as is."""
        if not self._done:
            self._end(_failure(grpc.StatusCode.CANCELLED, "cancelled"))
            self._lane.cancel(self._key)

    def deliver(self, chunk: pb.MultiplexedChunk) -> None:
        """A chunk from the server (the lane's reader calls this)."""
        if self._done:
            return
        if chunk.HasField("error"):
            error = chunk.error
            code = STATUS_BY_NUMBER.get(error.code, grpc.StatusCode.UNKNOWN)
            self._end(_failure(code, error.message, error.retry_after_seconds))
            return
        self._queue.put_nowait(chunk.response)
        if chunk.response.finish_reason != pb.FINISH_REASON_UNSPECIFIED:
            self._end(None)

    def fail(self, error: grpc.aio.AioRpcError) -> None:
        """The call this generation ran on ended (the lane calls this)."""
        if not self._done:
            self._end(error)

    def _expire(self) -> None:
        if not self._done:
            self._end(_failure(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded"))
            self._lane.cancel(self._key)

    def _end(self, error: grpc.aio.AioRpcError | None) -> None:
        self._done = True
        self._lane.forget(self._key)
        if self._expiry is not None:
            self._expiry.cancel()
        if self._span is not None:
            finish_span(self._span, grpc.StatusCode.OK if error is None else error.code())
        if error is not None:
            self._queue.put_nowait(error)


class _Lane:
    """One GenerateMultiplexed call, opened when a generation needs it and again after it ends."""

    def __init__(self, stub: pb_grpc.InferenceServiceStub, signer: IdentitySigner) -> None:
        self._stub = stub
        self._signer = signer
        self._identity = Identity(subject=signer.issuer, role=GlobalRole.SERVICE)
        self._generations: dict[int, Generation] = {}
        self._outgoing: asyncio.Queue[pb.GenerationStart | int] | None = None
        self._reader: asyncio.Task[None] | None = None

    def start(self, key: int, request: pb.GenerateRequest, identity: Identity, timeout: float | None) -> Generation:
        started = pb.GenerationStart(key=key, request=request, identity=self._signer.issue(identity, AUDIENCE))
        span = None
        if tracing.active():
            span, carrier = client_span(GENERATE_METHOD)
            started.trace_context.update(carrier)
        generation = Generation(self, key, timeout, span)
        self._generations[key] = generation
        self._send(started)
        return generation

    def cancel(self, key: int) -> None:
        if self._outgoing is not None:
            self._outgoing.put_nowait(key)

    def forget(self, key: int) -> None:
        self._generations.pop(key, None)

    def _send(self, start: pb.GenerationStart) -> None:
        if self._outgoing is None:
            # In a context of its own: the call outlives the generation that opens it (its
            # identity, request id and span stay with that generation).
            self._outgoing = contextvars.Context().run(self._open)
        self._outgoing.put_nowait(start)

    def _open(self) -> asyncio.Queue[pb.GenerationStart | int]:
        outgoing: asyncio.Queue[pb.GenerationStart | int] = asyncio.Queue()
        metadata = ((IDENTITY_METADATA_KEY, self._signer.issue(self._identity, AUDIENCE)),)
        call = self._stub.GenerateMultiplexed(_requests(outgoing), metadata=metadata)
        self._reader = asyncio.create_task(self._read(call), name="multiplexed generations")
        return outgoing

    async def _read(
        self, call: grpc.aio.StreamStreamCall[pb.GenerateMultiplexedRequest, pb.GenerateMultiplexedResponse]
    ) -> None:
        error = _failure(grpc.StatusCode.UNAVAILABLE, "the inference call ended")
        try:
            while isinstance(response := await call.read(), pb.GenerateMultiplexedResponse):
                for chunk in response.chunks:
                    generation = self._generations.get(chunk.key)
                    if generation is not None:
                        generation.deliver(chunk)
        except grpc.aio.AioRpcError as ended:
            error = ended
            level = logging.WARNING if self._generations else logging.INFO  # idle: a restart or a shutdown
            log.log(level, "multiplexed inference call ended: %s", ended.code().name)
        finally:
            # The next generation opens a new call; the ones on this call end with its error.
            self._outgoing, self._reader = None, None
            call.cancel()
            for generation in list(self._generations.values()):
                generation.fail(error)
            self._generations.clear()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


async def _requests(outgoing: asyncio.Queue[pb.GenerationStart | int]) -> AsyncIterator[pb.GenerateMultiplexedRequest]:
    """Starts and cancels (keys), as they come: what gathers while a message is written goes in the next."""
    while True:
        actions = [await outgoing.get()]
        while not outgoing.empty():
            actions.append(outgoing.get_nowait())
        request = pb.GenerateMultiplexedRequest()
        for action in actions:
            if isinstance(action, int):
                request.cancel.append(action)
            else:
                request.start.append(action)
        yield request


class Generations:
    """Generate calls' work over shared GenerateMultiplexed calls on `channel`, signed by `signer`."""

    def __init__(self, channel: grpc.aio.Channel, signer: IdentitySigner, lanes: int = DEFAULT_LANES) -> None:
        stub = pb_grpc.InferenceServiceStub(channel)
        self._lanes = [_Lane(stub, signer) for _ in range(lanes)]
        self._keys = itertools.count(1)

    def generate(self, request: pb.GenerateRequest, timeout: float | None = None) -> Generation:
        """Start a generation as the bound identity (Unauthenticated when none is bound)."""
        identity = current_identity()
        if identity is None:
            raise _failure(grpc.StatusCode.UNAUTHENTICATED, "missing caller identity")
        key = next(self._keys)
        return self._lanes[key % len(self._lanes)].start(key, request, identity, timeout)

    async def close(self) -> None:
        """End the calls (their generations fail as UNAVAILABLE)."""
        for lane in self._lanes:
            await lane.close()
