"""Inference port over gRPC: InferenceService generations, over shared multiplexed calls
(agentmesh_grpc.generations_client: each fails as its own Generate call would).

Each turn is accounted to its project (the one the mailbox bound to the log
context), so it counts against that project's inference quota. A turn over
quota is refused before any token (RESOURCE_EXHAUSTED with a retry time): the
client waits that long and asks again, so the turn completes later instead of
failing. If the quota stays exhausted past `max_quota_wait`, the turn is
Unavailable and the processor retries the message later. Each refusal is reported to
the monitor (`quota_reports`: one event per project a minute).

A call refused as UNAVAILABLE before its first chunk (inference restarting,
its model still loading) waits until inference is up again (domain/readiness.py)
and asks again, for at most the readiness's `wait_seconds` in all; only then is
it Unavailable, which fails the turn. A stream that breaks after its first chunk
is StreamInterrupted: the processor tells watchers to drop the partial text and
asks again. `generate` relays nothing until it has the whole answer, so it asks
again itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence

import grpc

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh_agents.adapters.service_identity import AGENTS_SERVICE
from agentmesh_agents.adapters.system_events import QuotaReports
from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.ports import ChatTurn, Generation
from agentmesh_agents.domain.readiness import Dependency, Outage, Readiness, StreamInterrupted
from agentmesh_core.errors import AgentmeshError, ResourceExhausted, Unavailable
from agentmesh_core.identity import Identity
from agentmesh_core.tokens import IdentitySigner
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.generations_client import Generations
from agentmesh_grpc.identity import acting_as
from agentmesh_observability import context

log = logging.getLogger(__name__)

# Longest a turn waits, in all, for its project's quota before the message is retried later.
MAX_QUOTA_WAIT_SECONDS = 600.0
# When the service names no retry time.
DEFAULT_RETRY_SECONDS = 1.0
# Streams of one `generate` that may break before it gives up (a prompt that crashes the server).
MAX_INTERRUPTED_STREAMS = 5


def generate_request(
    turns: Sequence[ChatTurn], sampling: Sampling, request_id: str, project_id: str = "", json_schema: str = ""
) -> pb.GenerateRequest:
    """The Generate request for a chat prompt, accounted to project_id (constrained to json_schema if given)."""
    params = pb.SamplingParams(max_tokens=sampling.max_tokens, stop=list(sampling.stop))
    if sampling.temperature is not None:
        params.temperature = sampling.temperature
    if sampling.top_p is not None:
        params.top_p = sampling.top_p
    if sampling.seed is not None:
        params.seed = sampling.seed
    return pb.GenerateRequest(
        messages=[pb.ChatMessage(role=turn.role, content=turn.content) for turn in turns],
        sampling=params,
        request_id=request_id,
        project_id=project_id,
        json_schema=json_schema,
    )


class InferenceClient:
    """Streams chat completions from the inference service, acting as the agents service."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        signer: IdentitySigner,
        timeout: float,
        identity: Identity = AGENTS_SERVICE,
        *,
        max_quota_wait: float = MAX_QUOTA_WAIT_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        readiness: Readiness | None = None,
        quota_reports: QuotaReports | None = None,
    ) -> None:
        self._generations = Generations(channel, signer)
        self._quota_reports = quota_reports
        self._timeout = timeout
        self._identity = identity
        self._max_quota_wait = max_quota_wait
        self._sleep = sleep
        self._readiness = readiness

    async def stream_chat(self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str) -> AsyncIterator[str]:
        request = generate_request(turns, sampling, request_id, context.current("project_id") or "")
        # aclosing: leaving early cancels the call now, not when the generator is collected.
        async with contextlib.aclosing(self._responses(request)) as responses:
            async for chunk in responses:
                if chunk.text:
                    yield chunk.text

    async def generate(
        self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str, json_schema: str
    ) -> Generation:
        project_id = context.current("project_id") or ""
        request = generate_request(turns, sampling, request_id, project_id, json_schema)
        for interrupted in range(1, MAX_INTERRUPTED_STREAMS + 1):
            texts: list[str] = []
            try:
                async with contextlib.aclosing(self._responses(request)) as responses:
                    async for chunk in responses:
                        texts.append(chunk.text)
                        if chunk.finish_reason != pb.FINISH_REASON_UNSPECIFIED:
                            return Generation(
                                "".join(texts),
                                prompt_tokens=chunk.usage.prompt_tokens,
                                completion_tokens=chunk.usage.completion_tokens,
                                truncated=chunk.finish_reason == pb.FINISH_REASON_LENGTH,
                            )
                return Generation("".join(texts))
            except StreamInterrupted:
                # Nothing was relayed yet: ask again (the next call waits for inference to be back).
                log.warning(
                    "inference stream interrupted (%d of %d); asking again", interrupted, MAX_INTERRUPTED_STREAMS
                )
        raise Unavailable("inference service unavailable")

    async def _responses(self, request: pb.GenerateRequest) -> AsyncGenerator[pb.GenerateResponse, None]:
        """The call's chunks; a refusal for quota or an outage before any chunk is waited out and asked again."""
        waited = 0.0
        outage: Outage | None = None
        while True:
            with acting_as(self._identity):
                call = self._generations.generate(request, timeout=self._timeout)
            streamed = False
            try:
                async for chunk in call:
                    streamed = True
                    yield chunk
                return
            except grpc.aio.AioRpcError as error:
                failure = from_rpc_error(error)
                if streamed:
                    raise await self._interruption(failure) from None
                if isinstance(failure, Unavailable) and self._readiness is not None:
                    outage = outage or Outage(self._readiness, Dependency.INFERENCE)
                    log.warning("inference unavailable (%s); waiting for it", failure.message)
                    if await outage.wait():
                        continue
                    log.error("inference still unavailable after %.0fs", self._readiness.wait_seconds)
                    raise Unavailable("inference service unavailable") from None
                if not isinstance(failure, ResourceExhausted):
                    raise failure from None
                if self._quota_reports is not None and request.project_id:
                    self._quota_reports.rejected(request.project_id, failure)
                delay = _jittered(failure.retry_after or DEFAULT_RETRY_SECONDS)
                if waited + delay > self._max_quota_wait:
                    log.warning("project inference quota still exhausted after %.0fs; retrying later", waited)
                    raise Unavailable("project inference quota exhausted") from None
                log.info("project inference quota exhausted; asking again in %.1fs", delay)
                waited += delay
            finally:
                # Leaving early (an error, a shutdown) aborts the request in the engine.
                call.cancel()
            await self._sleep(delay)

    async def _interruption(self, failure: AgentmeshError) -> AgentmeshError:
        """What a failure after the first chunk is: an outage (StreamInterrupted) or the call's own error."""
        if isinstance(failure, Unavailable):
            return StreamInterrupted(failure.message)
        if self._readiness is not None and type(failure) is AgentmeshError:
            # A server killed mid-stream can end it with INTERNAL/UNKNOWN: ask its health.
            await self._readiness.check()
            if not self._readiness.is_up([Dependency.INFERENCE]):
                return StreamInterrupted("inference went away mid-stream")
        return failure


def _jittered(seconds: float) -> float:
    # Turns refused together should not all come back in the same instant.
    return seconds * random.uniform(1.0, 1.2)
