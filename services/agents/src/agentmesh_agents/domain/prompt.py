"""Building the chat prompt for one request: persona, memory, history, the new message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable

from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import Agent, Message, ParticipantType
from agentmesh_agents.domain.ports import ChatTurn, Memory
from agentmesh_agents.domain.recall_ahead import RecallAhead
from agentmesh_agents.domain.validation import content_text
from agentmesh_core.errors import AgentmeshError

log = logging.getLogger(__name__)


def persona(agent: Agent) -> str:
    """The system prompt, or a plain one made from the agent's name and purpose."""
    if agent.system_prompt.strip():
        return agent.system_prompt
    text = f"You are {agent.name}, an AI agent."
    if agent.purpose.strip():
        text += f" Your purpose: {agent.purpose.strip()}"
    return text


def with_memories(system: str, memories: list[str]) -> str:
    """The system text with retrieved knowledge appended as a bullet list."""
    if not memories:
        return system
    listed = "\n".join(f"- {memory}" for memory in memories)
    return f"{system}\n\nRelevant project knowledge:\n{listed}"


class MemoryPresence:
    """Which projects are known to hold memory, so a project without any is not searched.

    Only "it has entries" is remembered (a project that had entries and lost them
    all is searched in vain, which finds nothing); "it has none" is looked up again
    every time (one cheap look, no embedding), so an entry added a moment ago is
    found by the next turn.
    """

    def __init__(self, memory: Memory, remembered: int = 10_000) -> None:
        self._memory = memory
        self._known: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered

    async def has_entries(self, project_id: str) -> bool:
        if project_id in self._known:
            self._known.move_to_end(project_id)
            return True
        if not await self._memory.has_entries(project_id):
            return False
        self._known[project_id] = None
        while len(self._known) > self._remembered:
            self._known.popitem(last=False)
        return True


class PromptBuilder:
    """Assembles the turns the model sees for a request.

    A project without memory is not searched (MemoryPresence). A memory search
    that fails (too slow, memory unavailable) does not fail the turn: it goes on
    without memory, and says so on the conversation's stream (a RECALL_SKIPPED
    event, counted by the metrics) instead of silently. A message's search may have
    been started as it was accepted (`prepare`); its turn then takes that one.
    """

    def __init__(self, memory: Memory, limits: Limits, events: EventPublisher | None = None) -> None:
        self._memory = memory
        self._presence = MemoryPresence(memory)
        self._limits = limits
        self._events = events
        self._ahead = RecallAhead(limits.recall_ahead_seconds)

    def prepare(self, request: Message) -> None:
        """Start the memory search of a message to an agent, being stored, for its turn to take."""
        if self._limits.memory_hits <= 0 or self._limits.recall_ahead_seconds <= 0:
            return
        if request.receiver.type is not ParticipantType.AGENT:
            return
        agent_id = request.receiver.id
        self._ahead.start(request.id, agent_id, self._search(request.project_id, agent_id, request))

    def abandon(self, message_id: str) -> None:
        """Cancel the search started for a message that was not stored."""
        self._ahead.drop(message_id)

    async def build(self, agent: Agent, request: Message, history: list[Message]) -> list[ChatTurn]:
        """System prompt (+ memory), the conversation's recent turns (oldest first), then the request."""
        memories = await self._recall(agent, request)
        return self._turns(agent, request, history, memories)

    async def build_alongside(
        self, agent: Agent, request: Message, preparing: Awaitable[list[Message]]
    ) -> list[ChatTurn]:
        """As build, with the memory recall running while `preparing` gets the history (and whatever else)."""
        recall = asyncio.create_task(self._recall(agent, request))
        try:
            history = await preparing
            memories = await recall
        finally:
            if not recall.done():
                recall.cancel()  # preparing failed: the turn does not go on
                with contextlib.suppress(asyncio.CancelledError):
                    await recall
        return self._turns(agent, request, history, memories)

    def _turns(self, agent: Agent, request: Message, history: list[Message], memories: list[str]) -> list[ChatTurn]:
        text = content_text(request.content)
        turns = [ChatTurn("system", with_memories(persona(agent), memories))]
        turns.extend(self._turn(agent, message) for message in history if message.id != request.id)
        turns.append(ChatTurn("user", text))
        return turns

    @staticmethod
    def _turn(agent: Agent, message: Message) -> ChatTurn:
        mine = message.sender.type is ParticipantType.AGENT and message.sender.id == agent.id
        return ChatTurn("assistant" if mine else "user", content_text(message.content))

    async def _search(self, project_id: str, agent_id: str, request: Message) -> list[str]:
        if not await self._presence.has_entries(project_id):
            return []  # nothing to find
        query = content_text(request.content)[: self._limits.memory_query_max_chars]
        return await self._memory.search(project_id, agent_id, query, self._limits.memory_hits)

    async def _recall(self, agent: Agent, request: Message) -> list[str]:
        if self._limits.memory_hits <= 0:
            return []
        try:
            ahead = self._ahead.take(request.id, agent.id)
            if ahead is not None:
                return await ahead
            return await self._search(agent.project_id, agent.id, request)
        except AgentmeshError as error:
            log.warning("memory search failed (%s); answering without memory", error.code)
            reason = error.code
        except Exception:
            log.warning("memory search failed; answering without memory", exc_info=True)
            reason = "error"
        if self._events is not None:
            await self._events.recall_skipped(request, agent.id, reason)
        return []
