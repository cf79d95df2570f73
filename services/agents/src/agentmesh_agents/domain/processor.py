"""Processing one mailbox delivery: the agent reads a message and replies.

At-least-once delivery means any message may come again, even after its reply
was stored; the stored status and the one-reply-per-request rule make a second
delivery a no-op instead of a second visible reply.

A dependency that goes away is waited for, not counted against the message: the
inference client waits for inference to come back, and processing waits for the
database (domain/readiness.py), each for at most the readiness's wait limit. A
turn that restarts (its stream broke, or an earlier try of it was cut off)
publishes RESET first, so watchers drop the partial text.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agentmesh_agents.domain.cancellation import RunningTurns, TurnCancelled
from agentmesh_agents.domain.delegation import Delegations
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.model_config import Sampling, sampling_for
from agentmesh_agents.domain.models import (
    Agent,
    AgentStatus,
    Message,
    MessageStatus,
    utcnow,
)
from agentmesh_agents.domain.ports import ChatTurn, DeliveryState, Inference, MessageRepository
from agentmesh_agents.domain.prompt import PromptBuilder
from agentmesh_agents.domain.react import ReactLoop, TurnEndKind
from agentmesh_agents.domain.readiness import Dependency, Outage, Readiness, StreamInterrupted
from agentmesh_agents.domain.token_relay import TokenPacing, TokenRelay
from agentmesh_core.errors import AgentmeshError, FailedPrecondition, Unavailable
from agentmesh_core.text import sanitize_text
from agentmesh_observability import context

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a mailbox message; attempt counts deliveries from 1."""

    project_id: str
    agent_id: str
    message_id: str
    attempt: int = 1
    request_id: str | None = None
    trace_parent: str | None = None  # the poster's span (W3C traceparent), when tracing is on


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to tell the mailbox: done (ack), or deliver again after a delay.

    `earlier_id` is set when the message waits behind that earlier message of its
    agent: the rest of the agent's lane goes on (it may hold that very message).
    """

    done: bool
    delay: float = 0.0
    earlier_id: str | None = None

    @classmethod
    def ack(cls) -> Outcome:
        return cls(True)

    @classmethod
    def retry(cls, delay: float) -> Outcome:
        return cls(False, delay)

    @classmethod
    def held(cls, earlier_id: str, delay: float) -> Outcome:
        return cls(False, delay, earlier_id)


class _Route(enum.Enum):
    """Where a delivery goes, by its state."""

    DROP = "drop"  # no stored row
    SETTLED = "settled"  # already final
    ANSWERED = "answered"  # a reply is stored; only the status is behind
    NO_AGENT = "no_agent"
    PAUSED = "paused"
    HELD = "held"  # an earlier message of the agent comes first
    REACT = "react"
    CHAT = "chat"


class _Failed(Exception):
    """Processing ended in an error the sender should see (client-safe text)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class MessageProcessor:
    """Turns one request into a reply, publishing progress on the conversation."""

    def __init__(
        self,
        messages: MessageRepository,
        events: EventPublisher,
        inference: Inference,
        prompts: PromptBuilder,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
        react: ReactLoop | None = None,
        delegations: Delegations | None = None,
        running: RunningTurns | None = None,
        readiness: Readiness | None = None,
    ) -> None:
        self._messages = messages
        self._events = events
        self._inference = inference
        self._prompts = prompts
        self._limits = limits
        self._clock = clock
        self._react = react
        self._delegations = delegations
        self._running = running or RunningTurns()
        self._readiness = readiness
        self._pacing = TokenPacing(
            limits.token_event_seconds, limits.token_events_per_second, limits.token_event_seconds_max
        )

    async def process(self, delivery: Delivery) -> Outcome:
        """Handle one delivery; never raises for a bad message, only reports the outcome."""
        with context.bind(
            request_id=delivery.request_id,
            project_id=delivery.project_id,
            agent_id=delivery.agent_id,
            message_id=delivery.message_id,
        ):
            outage: Outage | None = None
            while True:
                try:
                    return await self._process(delivery)
                except Unavailable as error:
                    # The database is down: nothing can be recorded. Wait for it (the delivery stays
                    # in progress) and go again; past the wait limit, hand the message back.
                    log.warning("processing waits for the database: %s", error.message)
                    if self._readiness is None:
                        return Outcome.retry(self._limits.storage_retry_seconds)
                    outage = outage or Outage(self._readiness, Dependency.DATABASE)
                    if not await outage.wait():
                        return Outcome.retry(self._limits.storage_retry_seconds)
                except Exception:
                    log.exception("processing failed unexpectedly")
                    return await self._fail_unexpectedly(delivery)

    async def _fail_unexpectedly(self, delivery: Delivery) -> Outcome:
        try:
            request = await self._messages.get(delivery.project_id, delivery.message_id)
            if request is not None and not request.status.is_final:
                await self._fail(request, delivery.agent_id, "internal error")
        except Exception:
            log.warning("could not record the failure; will retry", exc_info=True)
            return Outcome.retry(self._limits.storage_retry_seconds)
        return Outcome.ack()

    def _route(self, state: DeliveryState) -> _Route:
        """What a delivery's state calls for (pure: the chat route is decided inside the state's read)."""
        request, agent = state.request, state.agent
        if request is None:
            return _Route.DROP
        if request.status.is_final:
            return _Route.SETTLED
        if state.answered:
            return _Route.ANSWERED
        if agent is None:
            return _Route.NO_AGENT
        if agent.status is AgentStatus.PAUSED:
            return _Route.PAUSED
        if state.earlier_id is not None:
            return _Route.HELD
        if self._react is not None and (state.grants or state.turn is not None):
            return _Route.REACT  # an agent with tools (or a turn already under way) takes the ReAct loop
        return _Route.CHAT

    async def _process(self, delivery: Delivery) -> Outcome:
        # One read for every decision below (and, for a chat, the turn's start); the row is not read again.
        state = await self._messages.delivery_state(
            delivery.project_id,
            delivery.agent_id,
            delivery.message_id,
            begin=lambda read: self._route(read) is _Route.CHAT,
            history_limit=self._limits.history_turns,
        )
        request, agent, route = state.request, state.agent, self._route(state)
        if route is _Route.DROP:
            log.warning("mailbox message has no stored row; dropped")
            return Outcome.ack()
        assert request is not None  # every route but DROP has the request
        if route is _Route.SETTLED:
            log.info("message already %s; redelivery skipped", request.status.value)
            await self._settled(request)  # the agent that asked may not have heard (a crash right after)
            return Outcome.ack()
        if route is _Route.ANSWERED:
            await self._messages.set_status(request.project_id, request.id, MessageStatus.COMPLETE)
            log.info("message already answered; marked complete")
            return Outcome.ack()
        if route is _Route.NO_AGENT:
            await self._fail(request, delivery.agent_id, "agent not found")
            return Outcome.ack()
        if route is _Route.PAUSED:
            log.info("agent is paused; message stays in the mailbox")
            return Outcome.retry(self._limits.paused_retry_seconds)
        if route is _Route.HELD:
            assert state.earlier_id is not None
            # Mailbox order: an earlier message (e.g. waiting on a retry) is answered first.
            log.info("waiting for earlier message %s", state.earlier_id)
            return Outcome.held(state.earlier_id, self._limits.order_retry_seconds)
        assert agent is not None  # the routes left (ReAct, chat) have their agent
        if route is _Route.REACT:
            assert self._react is not None
            end = await self._react.run(agent, request, delivery.attempt, state)
            if end.kind is TurnEndKind.FAILED:
                await self._fail(request, agent.id, end.text)
            return Outcome.ack()
        assert state.history is not None  # _Route.CHAT: begun with the read
        try:
            with self._running.running(request.id) as stop:
                # Already processing: an earlier try of this turn was cut off, maybe mid-stream.
                restarting = request.status is MessageStatus.PROCESSING
                await self._answer(agent, request, list(state.history), delivery, restarting, stop)
        except _Failed as failure:
            await self._fail(request, agent.id, failure.text)
        except TurnCancelled:
            log.info("message cancelled while it was answered; no reply")
        return Outcome.ack()

    async def _answer(
        self,
        agent: Agent,
        request: Message,
        history: list[Message],
        delivery: Delivery,
        restarting: bool,
        stop: asyncio.Event,
    ) -> None:

        async def begin() -> list[Message]:
            if restarting:
                await self._events.reset(request, agent.id)
            self._events.status_ahead(request, agent.id, MessageStatus.PROCESSING)  # the model starts meanwhile
            return history

        turns = await self._prompts.build_alongside(agent, request, begin())  # memory recall meanwhile
        sampling = sampling_for(agent.model_config, self._limits)
        with self._pacing.streaming():  # the turns streaming at once set how often each sends tokens
            chunks, flushing = await self._stream(agent, request, delivery, turns, sampling, stop)
        now = self._clock()
        reply = request.reply_from(agent.id, "".join(chunks), now)
        try:
            stored = await self._messages.complete_with_reply(request, reply)
        except FailedPrecondition:
            raise TurnCancelled from None  # cancelled while the reply was written (maybe on another replica)
        finally:
            await flushing  # every token event before the reply (or the cancel) event
        await self._events.reply(request, agent.id, stored)
        log.info("reply %s stored (%d chunks)", stored.id, len(chunks))
        await self._settled(request)

    async def _stream(
        self,
        agent: Agent,
        request: Message,
        delivery: Delivery,
        turns: list[ChatTurn],
        sampling: Sampling,
        stop: asyncio.Event,
    ) -> tuple[list[str], asyncio.Task[None]]:
        """Stream the generation, relaying its chunks, restarting after an interrupted stream.

        Returns the chunks and the task sending the last TOKEN events (await it before the reply event).
        """
        flushing: asyncio.Task[None] | None = None
        for restart in range(self._limits.stream_restarts_max + 1):
            if restart:
                await self._events.reset(request, agent.id)
            chunks: list[str] = []
            relay = TokenRelay(self._events, request, agent.id, self._pacing)
            stream = self._inference.stream_chat(turns, sampling, f"{request.id}-{delivery.attempt}-{restart}")
            try:
                async for raw_chunk in stream:
                    if stop.is_set():
                        raise TurnCancelled  # closing the stream (below) aborts the model's request
                    # Model output is stored and relayed as it comes: made storable here, one NUL
                    # (which PostgreSQL's jsonb refuses) cannot fail the whole message.
                    chunk = sanitize_text(raw_chunk)
                    chunks.append(chunk)
                    relay.add(chunk)
                flushing = asyncio.create_task(relay.flush())  # awaited before the reply event
                break
            except StreamInterrupted as error:
                await relay.flush()  # before the reset that drops them
                log.warning("inference stream interrupted after %d chunks (%s); the turn restarts", len(chunks), error)
            except Unavailable:
                # The inference client waited for the service as long as it may.
                log.error("inference unavailable; giving up on this turn")
                raise _Failed("inference service unavailable") from None
            except AgentmeshError as error:
                log.warning("inference refused the request: %s", error.code)
                raise _Failed(f"inference failed: {error.message}") from None
            finally:
                if flushing is None:
                    await relay.discard()  # a turn cancelled or failed: its error or cancel event says so
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()
        else:
            log.error("inference stream interrupted %d times; giving up", self._limits.stream_restarts_max + 1)
            raise _Failed("inference service unavailable")
        assert flushing is not None  # the stream that ended the loop started it
        return chunks, flushing

    async def _fail(self, request: Message, agent_id: str, text: str) -> None:
        await self._messages.set_status(request.project_id, request.id, MessageStatus.ERROR, text)
        await self._events.error(request, agent_id, text)
        log.warning("message failed: %s", text)
        await self._settled(request)

    async def _settled(self, request: Message) -> None:
        """Tell the agent that delegated the request (if one did) that it is final."""
        if self._delegations is not None:
            await self._delegations.settled(request)
