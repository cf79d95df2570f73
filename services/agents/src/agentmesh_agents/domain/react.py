"""The bounded ReAct loop: the model calls granted tools step by step until it answers.

Each step asks the model for one JSON object, constrained with structured
output to a call of an offered tool (with that tool's arguments schema) or a
final answer; the output is parsed as untrusted text (steps.py) and each call
goes through ToolCaller, which enforces the grant. The turn is bounded by
steps, tokens and active time (budget.py); running out ends it with a clear
error. After every tool step the turn's state is stored, so a redelivery goes
on from there; a call that needs a human parks the turn (turns.py) and the
delivery is acked. A turn that delegated and needs the replies parks until
they are in (delegation.py); a cancelled turn stops where it is (cancellation.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from agentmesh_agents.domain.budget import Spending, turn_budget
from agentmesh_agents.domain.calls import ToolCaller, TurnContext
from agentmesh_agents.domain.cancellation import Cancellation, RunningTurns, TurnCancelled, unless_stopped
from agentmesh_agents.domain.delegation import Collected, Delegations
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.model_config import sampling_for
from agentmesh_agents.domain.models import (
    Agent,
    Message,
    MessageStatus,
    utcnow,
)
from agentmesh_agents.domain.ports import (
    ChatTurn,
    DeliveryState,
    Generation,
    GrantRepository,
    Inference,
    MessageRepository,
)
from agentmesh_agents.domain.prompt import PromptBuilder
from agentmesh_agents.domain.react_prompt import step_turns
from agentmesh_agents.domain.steps import FinalStep, InvalidStep, clean_text, parse_step, said, step_schema, storable
from agentmesh_agents.domain.tool_models import ToolCallOutcome, ToolCallRecord
from agentmesh_agents.domain.turns import DELEGATION, Step, TurnState, WakeOutcome
from agentmesh_core.errors import AgentmeshError, FailedPrecondition, Unavailable
from agentmesh_core.ids import new_id

log = logging.getLogger(__name__)

_AUDIT_ARGUMENTS_MAX_CHARS = 4000
_INVALID_SAID_MAX_CHARS = 500


class TurnEndKind(StrEnum):
    """How a delivery of a ReAct turn ended."""

    COMPLETE = "complete"  # the reply is stored
    PARKED = "parked"  # the turn waits; the delivery is done
    FAILED = "failed"  # the turn ends with an error the sender sees
    CANCELLED = "cancelled"  # the request was cancelled; nothing more is recorded


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """What the processor does with the delivery."""

    kind: TurnEndKind
    text: str = ""
    awaited: tuple[str, ...] = ()  # a failed turn's delegations still awaited (they are cancelled)


class ReactLoop:
    """Runs (or resumes) a turn for an agent that has tools."""

    def __init__(
        self,
        messages: MessageRepository,
        grants: GrantRepository,
        caller: ToolCaller,
        events: EventPublisher,
        inference: Inference,
        prompts: PromptBuilder,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        delegations: Delegations | None = None,
        cancellation: Cancellation | None = None,
        running: RunningTurns | None = None,
    ) -> None:
        self._messages = messages
        self._grants = grants
        self._caller = caller
        self._events = events
        self._inference = inference
        self._prompts = prompts
        self._limits = limits
        self._clock = clock
        self._monotonic = monotonic
        self._delegations = delegations
        self._cancellation = cancellation
        self._running = running or RunningTurns()

    async def run(self, agent: Agent, request: Message, attempt: int, state: DeliveryState) -> TurnEnd:
        """Take the turn as far as it goes in this delivery."""
        with self._running.running(request.id) as stop:
            try:
                end = await self._run(agent, request, attempt, state, stop)
            except TurnCancelled:
                log.info("turn stopped: its request was cancelled")
                return TurnEnd(TurnEndKind.CANCELLED)
        if end.awaited and self._cancellation is not None:
            # The turn failed (its budget was the tree's): the replies it waited for are no longer wanted.
            # Messages it sent without waiting (notices, topic publications) go on.
            for delegated, _ in await self._messages.with_replies(request.project_id, end.awaited):
                await self._cancellation.stop(delegated)
        return end

    async def _run(
        self, agent: Agent, request: Message, attempt: int, state: DeliveryState, stop: asyncio.Event
    ) -> TurnEnd:
        stored = state.turn or TurnState(request.id, request.project_id, agent.id)
        if stored.parked is not None and stored.wake is None:
            log.info("turn still waits (%s %s); delivery skipped", stored.parked.kind, stored.parked.key)
            return TurnEnd(TurnEndKind.PARKED)
        history = await self._messages.begin_processing(request, self._limits.history_turns)
        self._events.status_ahead(request, agent.id, MessageStatus.PROCESSING)  # the steps start meanwhile
        budget = turn_budget(agent.model_config, self._limits)
        if self._delegations is not None:
            budget = await self._delegations.budget_within(request, budget)
        spending = Spending(
            budget,
            stored.steps_used,
            stored.tokens_used,
            stored.active_ms,
            self._monotonic,
        )
        turn = TurnContext(agent, request, spending, list(stored.transcript), stop)
        if stored.parked is not None:
            end = await self._resume(turn, stored)
            if end is not None:
                return end
        offered = [granted.tool for granted in state.grants if granted.tool.enabled]
        schema = step_schema(offered, self._limits.step_schema_max_chars)
        base = await self._prompts.build(agent, request, history)
        while True:
            reason = spending.exhausted()
            if reason is not None:
                log.warning("turn ended: %s", reason)
                return TurnEnd(TurnEndKind.FAILED, reason, awaited=_awaited(turn.transcript))
            if self._delegations is not None and _outstanding(turn.transcript):
                collected = await self._delegations.collect(request, turn.transcript)
                _take(turn, collected)
            try:
                generation = await self._generate(turn, step_turns(base, offered, turn.transcript), schema, attempt)
            except _Ended as ended:
                if ended.end.kind is TurnEndKind.FAILED:
                    return dataclasses.replace(ended.end, awaited=_awaited(turn.transcript))
                return ended.end
            step = parse_step(generation.text)
            if isinstance(step, FinalStep) and self._delegations is not None and _outstanding(turn.transcript):
                # Fan-in: the answer was written without the replies; it is dropped and asked for again
                # (its tokens count, the step does not: it never took effect).
                log.info("final answer before the delegated replies; the turn waits for them")
                turn.spending.steps -= 1
                if await self._delegations.wait(turn.state(), None):
                    return TurnEnd(TurnEndKind.PARKED)
                raise TurnCancelled
            if isinstance(step, FinalStep):
                await self._answer(turn, step.answer)
                return TurnEnd(TurnEndKind.COMPLETE)
            if isinstance(step, InvalidStep):
                # A step cut off by max_tokens is the likeliest invalid one: say so, the model may be briefer.
                reason = "the step was cut off (too long)" if generation.truncated else step.reason
                log.info("step %d invalid: %s", spending.steps, reason)
                shown = clean_text(generation.text[:_INVALID_SAID_MAX_CHARS])
                turn.transcript.append(Step(shown, f"invalid step: {reason}"))
                continue
            await self._ensure_wanted(turn)
            record = self._record(turn, step.tool, step.arguments)
            asked = said(record.tool, record.arguments)
            if await self._caller.call(turn, record, asked, step.arguments, asked=step.tool):
                return TurnEnd(TurnEndKind.PARKED)

    async def _generate(self, turn: TurnContext, prompt: list[ChatTurn], schema: str, attempt: int) -> Generation:
        spending = turn.spending
        sampling = sampling_for(turn.agent.model_config, self._limits)
        # No stop strings: one could cut the JSON short. Never ask for more tokens than are left.
        sampling = dataclasses.replace(
            sampling, stop=(), max_tokens=max(1, min(sampling.max_tokens, spending.tokens_left))
        )
        request_id = f"{turn.request.id}-{attempt}-{spending.steps + 1}"
        turn.check_running()
        try:
            async with asyncio.timeout(max(spending.seconds_left, 0.001)):
                # A cancel aborts the model call (its gRPC call is cancelled, and with it the engine's request).
                generating = asyncio.ensure_future(self._inference.generate(prompt, sampling, request_id, schema))
                generation = await unless_stopped(turn.stop, generating)
        except TimeoutError:
            raise _Ended(TurnEnd(TurnEndKind.FAILED, spending.out_of_time())) from None
        except Unavailable:
            # The inference client already waited out the outage (dependency_wait_seconds): the turn fails.
            raise _Ended(TurnEnd(TurnEndKind.FAILED, "inference service unavailable")) from None
        except AgentmeshError as error:
            log.warning("inference refused the step: %s", error.code)
            raise _Ended(TurnEnd(TurnEndKind.FAILED, f"inference failed: {error.message}")) from None
        spending.steps += 1
        spending.tokens += generation.prompt_tokens + generation.completion_tokens
        return generation

    def _record(self, turn: TurnContext, tool: str, arguments: object) -> ToolCallRecord:
        return ToolCallRecord(
            id=new_id(),
            project_id=turn.request.project_id,
            agent_id=turn.agent.id,
            message_id=turn.request.id,
            tool=clean_text(tool)[:200],
            arguments=storable(arguments, _AUDIT_ARGUMENTS_MAX_CHARS),
            outcome=ToolCallOutcome.PENDING,
            step=turn.spending.steps,
            created_at=self._clock(),
        )

    async def _resume(self, turn: TurnContext, stored: TurnState) -> TurnEnd | None:
        """Finish the call a parked turn waited on; a TurnEnd when the turn cannot go on."""
        assert stored.parked is not None and stored.wake is not None
        if stored.parked.kind == DELEGATION:
            return await self._resume_delegations(turn, stored)
        call, wake = stored.parked.call, stored.wake
        assert call is not None, "only a wait for delegations has no pending call"
        record = ToolCallRecord(
            id=call.call_id,
            project_id=turn.request.project_id,
            agent_id=turn.agent.id,
            message_id=turn.request.id,
            tool=call.tool,
            arguments=call.arguments,
            outcome=ToolCallOutcome.PENDING,
            step=call.step,
            created_at=self._clock(),
        )
        log.info("turn resumes: %s %s", stored.parked.kind, wake.outcome.value)
        if wake.outcome is WakeOutcome.EXPIRED:
            expired = dataclasses.replace(record, outcome=ToolCallOutcome.EXPIRED, error="the approval expired")
            await self._caller.record(turn, expired, call.said, "the approval expired", call_message_id=call.message_id)
            return TurnEnd(TurnEndKind.FAILED, f"the call to {call.tool} waited for an approval that expired")
        if wake.outcome is WakeOutcome.DENIED:
            text = "denied by a project admin" + (f": {wake.text}" if wake.text else "")
            denied = dataclasses.replace(record, outcome=ToolCallOutcome.DENIED, error="denied")
            await self._caller.record(turn, denied, call.said, text, call_message_id=call.message_id)
            return None
        if wake.outcome is WakeOutcome.RESULT:
            done = dataclasses.replace(record, outcome=ToolCallOutcome.ALLOWED)
            await self._caller.record(
                turn, done, call.said, wake.text, used_tool=call.tool, call_message_id=call.message_id
            )
            return None
        # Approved: the grant is checked again, as for any call, and then it runs.
        granted = await self._grants.find(turn.request.project_id, turn.agent.id, call.tool)
        refusal = self._caller.refusal(granted, call.arguments)
        if refusal is not None or granted is None:
            refused = dataclasses.replace(record, outcome=ToolCallOutcome.REFUSED, error=refusal or "")
            await self._caller.record(turn, refused, call.said, refusal or "", call_message_id=call.message_id)
            return None
        if await self._caller.run(turn, record, call.said, granted, call.arguments, call_message_id=call.message_id):
            return TurnEnd(TurnEndKind.PARKED)
        return None

    async def _ensure_wanted(self, turn: TurnContext) -> None:
        """TurnCancelled when the request was cancelled, here or on another replica (read before each
        tool call: a cancel there cannot reach this process's stop event)."""
        turn.check_running()
        current = await self._messages.get(turn.request.project_id, turn.request.id)
        if current is None or current.status is MessageStatus.CANCELLED:
            raise TurnCancelled

    async def _resume_delegations(self, turn: TurnContext, stored: TurnState) -> TurnEnd | None:
        """Take the replies that arrived; wait again while some are missing (unless time ran out)."""
        assert self._delegations is not None and stored.parked is not None and stored.wake is not None
        expired = stored.wake.outcome is WakeOutcome.EXPIRED
        collected = await self._delegations.collect(turn.request, turn.transcript, expired)
        _take(turn, collected)
        unfinished = collected.unfinished
        log.info("turn resumes: %d delegated replies still missing (expired: %s)", len(unfinished), expired)
        if unfinished and not expired:
            if await self._delegations.wait(turn.state(), stored.parked.expires_at):
                return TurnEnd(TurnEndKind.PARKED)
            raise TurnCancelled
        for delegated in unfinished:  # the wait ran out: they are no longer wanted
            if self._cancellation is not None:
                await self._cancellation.stop(delegated)
        await self._delegations.resumed(turn.state())
        return None

    async def _answer(self, turn: TurnContext, answer: str) -> None:
        request, agent = turn.request, turn.agent
        text = clean_text(answer)
        await self._events.token(request, agent.id, text)
        now = self._clock()
        reply = request.reply_from(agent.id, text, now)
        try:
            stored = await self._messages.complete_with_reply(request, reply)
        except FailedPrecondition:
            raise TurnCancelled from None  # cancelled while the answer was written: no reply
        await self._events.reply(request, agent.id, stored)
        log.info("reply %s stored after %d steps", stored.id, turn.spending.steps)
        if self._delegations is not None:
            await self._delegations.settled(request)


class _Ended(Exception):
    """A step could not be taken; `end` says how the delivery ends."""

    def __init__(self, end: TurnEnd) -> None:
        super().__init__(end.kind)
        self.end = end


def _outstanding(transcript: list[Step]) -> bool:
    return any(step.awaiting for step in transcript)


def _awaited(transcript: list[Step]) -> tuple[str, ...]:
    return tuple(step.awaiting for step in transcript if step.awaiting)


def _take(turn: TurnContext, collected: Collected) -> None:
    """The collected replies into the transcript, what their turns spent into this one's spending."""
    turn.transcript[:] = collected.steps
    turn.spending.steps += collected.steps_spent
    turn.spending.tokens += collected.tokens_spent
