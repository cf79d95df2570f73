"""Delegation: an agent asks another agent of its project, and gets the reply back as an observation.

The message goes through the same path as a user's (admitted, stored, posted to
the other agent's mailbox), in the asking request's conversation, so the
conversation's stream shows the whole tree of work. Its sender is the asking
agent, its parent the asking request, its correlation id the root request's.

A delegation that waits does not stop the turn at once: the model may delegate
again in its next steps (fan-out). When it needs the replies (it gives a final
answer while some are outstanding), that answer is dropped and the turn parks
durably (a row, no coroutine); each reply that arrives wakes it, and once all
are in, the model is asked again with each reply as its delegation's
observation (fan-in). A turn that waits longer than the delegation timeout gets
an error observation for each missing reply, and those delegations are cancelled.

Safety: the chain of requests above a message (its parents, through the log)
gives its depth and the agents already in it; a delegation deeper than the
limit, or one that waits on an agent already in the chain (A asks B, B asks A
and waits) is refused with an observation, never a deadlock. The target is
looked up in the asking agent's project only, whatever the arguments say.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agentmesh_agents.domain.budget import TurnBudget, turn_budget
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.messaging import Messaging
from agentmesh_agents.domain.models import Agent, Message, MessageStatus, Participant, ParticipantType, utcnow
from agentmesh_agents.domain.ports import AgentRepository, MessageRepository, TurnRepository
from agentmesh_agents.domain.tooling import CallContext, Observation
from agentmesh_agents.domain.turns import DELEGATION, Parked, ParkRecord, Step, TurnState, Wake, WakeOutcome
from agentmesh_agents.domain.turns import delegation_key as key_of
from agentmesh_agents.domain.validation import content_text, message_content
from agentmesh_core.aio import wait_set
from agentmesh_core.errors import AgentmeshError
from agentmesh_core.ids import new_id, parse_id

log = logging.getLogger(__name__)

WAITING = "waiting for the reply"


def is_delegation(message: Message) -> bool:
    """True for a request one agent sent another while working on `parent_id`."""
    return (
        message.sender.type is ParticipantType.AGENT
        and message.parent_id is not None
        and (message.performative == "request")
    )


@dataclass(frozen=True, slots=True)
class Collected:
    """A transcript with the replies that arrived, and what is still missing."""

    steps: list[Step]
    unfinished: list[Message] = field(default_factory=list)
    steps_spent: int = 0  # by the settled delegations' turns (counted once, when their reply is taken)
    tokens_spent: int = 0


class Delegations:
    """Sends delegated messages, collects their replies, wakes the turns that wait for them."""

    def __init__(
        self,
        agents: AgentRepository,
        messages: MessageRepository,
        turns: TurnRepository,
        messaging: Messaging,
        events: EventPublisher,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._agents = agents
        self._messages = messages
        self._turns = turns
        self._messaging = messaging
        self._events = events
        self._limits = limits
        self._clock = clock

    async def delegate(self, call: CallContext, target: str, content: str, wait: bool) -> Observation:
        """Send `content` to the agent named (or id'd) `target` in the caller's project."""
        request = await self._messages.get(call.project_id, call.message_id)
        if request is None or request.status.is_final:
            return Observation("error: this turn is over", error=True)
        agent = await self._target(call.project_id, target)
        if agent is None:
            return Observation(f"error: there is no agent {target!r} in this project", error=True)
        chain = await self.chain(request)
        if wait and agent.id in chain:
            return Observation(
                f"refused: {agent.name} already works on this request further up the chain; asking it and "
                "waiting would wait forever (a cycle). Answer with what you have.",
                error=True,
            )
        depth = len(chain)  # the new message's depth: the user's request is depth 0
        if depth > self._limits.delegation_max_depth:
            return Observation(
                f"refused: delegation depth limit reached ({self._limits.delegation_max_depth} agents deep); "
                "answer with what you have.",
                error=True,
            )
        try:
            content = message_content(content, self._limits)  # the rules a user's message follows
        except AgentmeshError as error:
            return Observation(f"error: {error.message}", error=True)
        now = self._clock()
        message = Message(
            id=new_id(),
            project_id=request.project_id,
            conversation_id=request.conversation_id,
            sender=Participant(ParticipantType.AGENT, call.agent_id),
            receiver=Participant(ParticipantType.AGENT, agent.id),
            content=content,
            performative="request",
            parent_id=request.id,
            correlation_id=request.correlation_id or request.id,
            # Stable per step: a turn redelivered after a crash re-asks this step and finds the first message.
            idempotency_key=f"delegation:{request.id}:{call.step}",
            created_at=now,
            updated_at=now,
        )
        try:
            sent = await self._messaging.accept(message)
        except AgentmeshError as error:
            return Observation(f"error: the message could not be sent: {error.message}", error=True)
        await self._events.delegated(request, call.agent_id, sent)
        log.info("delegated to agent %s as message %s (depth %d, waits: %s)", agent.id, sent.id, depth, wait)
        if not wait:
            return Observation(f"sent to {agent.name} (message {sent.id}); not waiting for a reply")
        return Observation(f"asked {agent.name}; {WAITING}", awaiting=sent.id)

    async def _target(self, project_id: str, target: str) -> Agent | None:
        try:
            agent_id = parse_id(target, "agent")
        except AgentmeshError:
            return await self._agents.named(project_id, target.strip())
        return await self._agents.get(project_id, agent_id)

    async def chain(self, request: Message) -> list[str]:
        """The agents working on the requests from the root down to this one (this one's last)."""
        chain = [request.receiver.id]
        current = request
        # Bounded: a chain is never longer than the depth limit allows (plus the refused step).
        for _ in range(self._limits.delegation_max_depth + 1):
            if not is_delegation(current):
                break
            assert current.parent_id is not None
            parent = await self._messages.get(current.project_id, current.parent_id)
            if parent is None:
                break
            chain.insert(0, parent.receiver.id)
            current = parent
        return chain

    async def budget_within(self, request: Message, own: TurnBudget) -> TurnBudget:
        """A delegated turn spends at most what the turn that asked has left (and so on up the
        chain): budgets cover the whole tree of a user's request."""
        if not is_delegation(request):
            return own
        assert request.parent_id is not None
        parent = await self._messages.get(request.project_id, request.parent_id)
        asked = await self._turns.get(request.parent_id)
        asker = await self._agents.get(request.project_id, asked.agent_id) if asked is not None else None
        if parent is None or asked is None or asker is None:
            return own
        theirs = await self.budget_within(parent, turn_budget(asker.model_config, self._limits))
        return TurnBudget(
            max_steps=max(1, min(own.max_steps, theirs.max_steps - asked.steps_used)),
            tokens=max(1, min(own.tokens, theirs.tokens - asked.tokens_used)),
            seconds=max(1.0, min(own.seconds, theirs.seconds - asked.active_ms / 1000)),
        )

    async def collect(self, request: Message, transcript: Sequence[Step], expired: bool = False) -> Collected:
        """The transcript with each settled delegation's reply as its observation, the delegated
        messages still unfinished, and what the settled ones' turns spent. With `expired`, the
        unfinished ones become error observations (the caller cancels them)."""
        awaited = [step.awaiting for step in transcript if step.awaiting]
        if not awaited:
            return Collected(list(transcript))
        pairs = await self._messages.with_replies(request.project_id, awaited)
        found = {asked.id: (asked, reply) for asked, reply in pairs}
        collected: list[Step] = []
        unfinished: list[Message] = []
        steps_spent = tokens_spent = 0
        for step in transcript:
            asked, reply = found.get(step.awaiting or "", (None, None))
            if step.awaiting is None:
                collected.append(step)
            elif asked is None:
                collected.append(Step(step.said, "error: the delegated message is gone"))
            elif asked.status.is_final:
                collected.append(Step(step.said, outcome_text(asked, reply)))
                spent = await self._turns.get(asked.id)
                if spent is not None:
                    steps_spent += spent.steps_used
                    tokens_spent += spent.tokens_used
            else:
                unfinished.append(asked)
                if expired:
                    seconds = self._limits.delegation_timeout_seconds
                    who = await self._name(asked)
                    collected.append(Step(step.said, f"error: no reply from {who} within {seconds:g} seconds"))
                else:
                    collected.append(step)
        return Collected(collected, unfinished, steps_spent, tokens_spent)

    async def _name(self, message: Message) -> str:
        agent = await self._agents.get(message.project_id, message.receiver.id)
        return agent.name if agent is not None else "the agent"

    async def wait(self, state: TurnState, expires_at: datetime | None) -> bool:
        """Park a turn until its outstanding delegations settle; False when its request is final.

        After parking, the delegations are read again: a reply stored while the turn was
        parking may have found no parked turn to wake, so the turn wakes itself for it.
        """
        request_id = state.message_id
        until = expires_at or self._clock() + timedelta(seconds=self._limits.delegation_timeout_seconds)
        parked = Parked(DELEGATION, key_of(request_id), None, until)
        record = ParkRecord(None, None, MessageStatus.PROCESSING)
        if not await self._turns.park(dataclasses.replace(state, parked=parked), record):
            return False
        awaited = [step.awaiting for step in state.transcript if step.awaiting]
        pairs = await self._messages.with_replies(state.project_id, awaited)
        settled = [asked for asked, _ in pairs if asked.status.is_final]
        if settled:
            await self._wake(state.project_id, request_id, WakeOutcome.RESULT, f"{request_id}.{settled[0].id}")
        log.info("turn waits for %d delegated replies", len(awaited) - len(settled))
        return True

    async def resumed(self, state: TurnState) -> None:
        """Store a turn that stops waiting (its replies, or their errors, are in its transcript)."""
        await self._turns.save(dataclasses.replace(state, parked=None, wake=None))

    async def settled(self, message: Message) -> None:
        """A request reached a final status: if an agent asked it, tell that agent's turn."""
        if not is_delegation(message):
            return
        assert message.parent_id is not None
        stored = await self._messages.with_replies(message.project_id, [message.id])
        if not stored or not stored[0][0].status.is_final:
            return
        asked, reply = stored[0]
        parent = await self._messages.get(message.project_id, message.parent_id)
        if parent is None:
            return
        await self._events.delegation_reply(parent, asked.sender.id, asked, outcome_text(asked, reply))
        await self._wake(parent.project_id, parent.id, WakeOutcome.RESULT, f"{parent.id}.{asked.id}")

    async def expire_due(self) -> int:
        """Wake the turns whose wait for delegations ran out; returns how many."""
        expired = 0
        for state in await self._turns.expired_waits(DELEGATION, self._clock(), self._limits.approval_expiry_batch):
            if await self._wake(state.project_id, state.message_id, WakeOutcome.EXPIRED, f"{state.message_id}.expired"):
                expired += 1
        if expired:
            log.info("%d turns stopped waiting for delegated replies", expired)
        return expired

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Wake turns whose wait ran out, every interval seconds until stop is set."""
        while not stop.is_set():
            try:
                await self.expire_due()
            except Exception:
                log.warning("delegation expiry sweep failed", exc_info=True)
            await wait_set(stop, interval)

    async def _wake(self, project_id: str, request_id: str, outcome: WakeOutcome, dedup_id: str) -> bool:
        woken = await self._turns.wake(project_id, request_id, Wake(key_of(request_id), outcome))
        if woken is None:
            return False
        # A dedup id of its own: the request's id was used by its first post, maybe moments ago.
        await self._messaging.post(woken, dedup_id=dedup_id)
        return True


def outcome_text(asked: Message, reply: Message | None) -> str:
    """What a settled delegation tells the agent that asked."""
    if asked.status is MessageStatus.COMPLETE and reply is not None:
        return content_text(reply.content)
    if asked.status is MessageStatus.CANCELLED:
        return "error: the delegated turn was cancelled"
    return f"error: the delegated turn failed: {asked.error or asked.status.value}"
