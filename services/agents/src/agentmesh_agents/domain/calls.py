"""One tool call of a ReAct turn: checked, run (or parked, or refused), audited, logged, told.

Enforcement lives here, outside the model: before anything runs, the grant is
read again (the tool exists, is enabled, is granted to this agent in this
project) and the arguments are checked against the tool's schema. A refused
call never runs; it is audited, logged and fed back to the model as an
observation like any other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from agentmesh_agents.domain.budget import Spending
from agentmesh_agents.domain.cancellation import TurnCancelled
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import Agent, Message, MessageStatus, Participant, ParticipantType, utcnow
from agentmesh_agents.domain.ports import GrantRepository, TurnRepository
from agentmesh_agents.domain.react_prompt import capped
from agentmesh_agents.domain.steps import json_problem
from agentmesh_agents.domain.tool_models import Approval, GrantedTool, ToolCallOutcome, ToolCallRecord
from agentmesh_agents.domain.toolbox import ToolBox
from agentmesh_agents.domain.tooling import CallContext, Observation, Park, argument_errors
from agentmesh_agents.domain.turns import APPROVAL, Parked, ParkRecord, PendingCall, Step, StepRecord, TurnState
from agentmesh_core.errors import AgentmeshError
from agentmesh_core.ids import new_id

log = logging.getLogger(__name__)

NOT_PERMITTED = "tool not permitted"


@dataclass
class TurnContext:
    """One delivery's view of a turn: the request, the agent, what was spent, the steps so far."""

    agent: Agent
    request: Message
    spending: Spending
    transcript: list[Step] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)  # set when the request is cancelled

    def check_running(self) -> None:
        """TurnCancelled once the request was cancelled: nothing more may start."""
        if self.stop.is_set():
            raise TurnCancelled

    def state(self, parked: Parked | None = None) -> TurnState:
        """The turn's state to store now."""
        return TurnState(
            message_id=self.request.id,
            project_id=self.request.project_id,
            agent_id=self.agent.id,
            steps_used=self.spending.steps,
            tokens_used=self.spending.tokens,
            active_ms=self.spending.active_ms,
            transcript=tuple(self.transcript),
            parked=parked,
        )


def _tool_participant(tool: str) -> Participant:
    return Participant(ParticipantType.SYSTEM, f"tool:{tool}"[:200])


class ToolCaller:
    """Makes the calls a turn asks for."""

    def __init__(
        self,
        turns: TurnRepository,
        grants: GrantRepository,
        toolbox: ToolBox,
        events: EventPublisher,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._turns = turns
        self._grants = grants
        self._toolbox = toolbox
        self._events = events
        self._limits = limits
        self._clock = clock

    async def call(
        self, turn: TurnContext, record: ToolCallRecord, said: str, arguments: Any, asked: str | None = None
    ) -> bool:
        """Handle a call the model just asked for; True when the turn parked.

        `asked` is the tool name exactly as the model wrote it: when cleaning it for the record
        changed it ("calc\x00ulator" -> "calculator"), it names no tool and is refused.
        """
        turn.check_running()
        await self._events.tool_call(turn.request, turn.agent.id, record)
        if asked is not None and asked != record.tool:
            return await self._refuse(turn, record, said, NOT_PERMITTED)
        granted = await self._grants.find(turn.request.project_id, turn.agent.id, record.tool)
        refusal = self.refusal(granted, arguments)
        if refusal is not None or granted is None:
            return await self._refuse(turn, record, said, refusal or NOT_PERMITTED)
        if granted.needs_approval:
            await self._park_for_approval(turn, record, said, granted, arguments)
            return True
        return await self.run(turn, record, said, granted, arguments)

    def refusal(self, granted: GrantedTool | None, arguments: Any) -> str | None:
        """Why a call may not run (the observation the model gets), or None."""
        if granted is None or not granted.tool.enabled:
            return NOT_PERMITTED
        if not isinstance(arguments, dict):
            return "invalid arguments: arguments must be a JSON object"
        problem = json_problem(arguments)
        if problem is not None:
            return f"invalid arguments: {problem}"
        if len(json.dumps(arguments, separators=(",", ":")).encode()) > self._limits.tool_arguments_max_bytes:
            return f"invalid arguments: at most {self._limits.tool_arguments_max_bytes} bytes"
        problem = argument_errors(granted.tool.parameters, arguments)
        return f"invalid arguments: {problem}" if problem is not None else None

    async def _refuse(self, turn: TurnContext, record: ToolCallRecord, said: str, reason: str) -> bool:
        log.warning("tool call %r refused: %s", record.tool, reason)
        refused = replace(record, outcome=ToolCallOutcome.REFUSED, error=reason)
        await self.record(turn, refused, said, reason)
        return False

    async def run(
        self,
        turn: TurnContext,
        record: ToolCallRecord,
        said: str,
        granted: GrantedTool,
        arguments: dict[str, Any],
        call_message_id: str | None = None,
    ) -> bool:
        """Run a permitted call and record it; True when the tool parked the turn."""
        tool = self._toolbox.tool_for(granted.tool)
        started = time.monotonic()
        if tool is None:
            observation = Observation("error: the tool is not available", error=True)
        else:
            timeout = max(0.001, min(self._limits.tool_timeout_seconds, turn.spending.seconds_left))
            context = CallContext(
                project_id=turn.request.project_id,
                agent_id=turn.agent.id,
                message_id=turn.request.id,
                conversation_id=turn.request.conversation_id,
                call_id=record.id,
                timeout=timeout,
                step=record.step,
            )
            observation = await self._observe(tool.run(context, arguments, granted.grant.config), timeout)
        duration = int((time.monotonic() - started) * 1000)
        if observation.park is not None:
            await self._park(turn, replace(record, duration_ms=duration), said, arguments, observation.park)
            return True
        outcome = ToolCallOutcome.ERROR if observation.error else ToolCallOutcome.ALLOWED
        error = capped(observation.text, 500) if observation.error else ""
        ran = replace(record, outcome=outcome, duration_ms=duration, error=error)
        await self.record(
            turn,
            ran,
            said,
            observation.text,
            used_tool=granted.tool.name,
            call_message_id=call_message_id,
            awaiting=observation.awaiting,
        )
        return False

    @staticmethod
    async def _observe(running: Awaitable[Observation], timeout: float) -> Observation:
        try:
            async with asyncio.timeout(timeout):
                return await running
        except TimeoutError:
            return Observation(f"error: the tool did not answer within {timeout:g} seconds", error=True)
        except AgentmeshError as error:
            return Observation(f"error: {error.message}", error=True)
        except Exception:
            log.exception("tool failed")
            return Observation("error: the tool failed", error=True)

    def _messages(self, turn: TurnContext, record: ToolCallRecord, call_message_id: str | None) -> Message:
        request, now = turn.request, self._clock()
        return Message(
            id=call_message_id or new_id(),
            project_id=request.project_id,
            conversation_id=request.conversation_id,
            sender=Participant(ParticipantType.AGENT, turn.agent.id),
            receiver=_tool_participant(record.tool),
            content={"tool": record.tool, "arguments": record.arguments, "call_id": record.id},
            performative="tool_call",
            status=MessageStatus.COMPLETE,
            parent_id=request.id,
            correlation_id=request.correlation_id,
            created_at=now,
            updated_at=now,
        )

    async def record(
        self,
        turn: TurnContext,
        record: ToolCallRecord,
        said: str,
        observation: str,
        used_tool: str | None = None,
        call_message_id: str | None = None,
        awaiting: str | None = None,
    ) -> None:
        """Store a finished call (log messages, audit, the turn's new state) and tell watchers.

        `awaiting` names a delegated message whose reply replaces the observation later.
        """
        text = capped(observation, self._limits.tool_output_max_chars)
        call_message = self._messages(turn, record, call_message_id)
        now = self._clock()
        result_message = replace(
            call_message,
            id=new_id(),
            sender=call_message.receiver,
            receiver=call_message.sender,
            content={"tool": record.tool, "call_id": record.id, "outcome": record.outcome.value, "observation": text},
            performative="tool_result",
            parent_id=call_message.id,
            created_at=now,
            updated_at=now,
        )
        turn.transcript.append(Step(said, text, awaiting))
        await self._turns.record_step(turn.state(), StepRecord((call_message, result_message), record, used_tool))
        await self._events.tool_result(turn.request, turn.agent.id, record, text)

    async def _park_for_approval(
        self, turn: TurnContext, record: ToolCallRecord, said: str, granted: GrantedTool, arguments: dict[str, Any]
    ) -> None:
        now = self._clock()
        approval = Approval(
            id=new_id(),
            project_id=turn.request.project_id,
            agent_id=turn.agent.id,
            message_id=turn.request.id,
            conversation_id=turn.request.conversation_id,
            tool_call_id=record.id,
            tool=granted.tool.name,
            arguments=arguments,
            expires_at=now + timedelta(seconds=self._limits.approval_ttl_seconds),
            created_at=now,
        )
        park = Park(APPROVAL, approval.id, approval.expires_at)
        if await self._park(turn, record, said, arguments, park, approval):
            await self._events.approval_required(turn.request, turn.agent.id, approval)
            log.info("turn parked: %s waits for approval %s", record.tool, approval.id)

    async def _park(
        self,
        turn: TurnContext,
        record: ToolCallRecord,
        said: str,
        arguments: dict[str, Any],
        park: Park,
        approval: Approval | None = None,
    ) -> bool:
        call_message = self._messages(turn, record, None)
        pending = PendingCall(record.id, call_message.id, record.tool, arguments, said, record.step)
        state = turn.state(Parked(park.kind, park.key, pending, park.expires_at))
        # Waiting for a human has its own status; other waits keep processing.
        status = MessageStatus.AWAITING_APPROVAL if approval is not None else MessageStatus.PROCESSING
        pending_record = replace(record, outcome=ToolCallOutcome.PENDING)
        parked = await self._turns.park(state, ParkRecord(call_message, pending_record, status, approval))
        if not parked:
            log.info("request already final; not parked")
        return parked
