"""An in-memory agents service: real domain, fake adapters, ScriptedInference."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_agents.adapters.fakes import (
    InMemoryAgentRepository,
    InMemoryConversationEvents,
    InMemoryMailbox,
    InMemoryMessageRepository,
    StaticMemory,
)
from agentmesh_agents.adapters.scripted_inference import ScriptedInference
from agentmesh_agents.adapters.tool_fakes import (
    InMemoryApprovalRepository,
    InMemoryGrantRepository,
    InMemoryToolCallRepository,
    InMemoryToolRepository,
    InMemoryTurnRepository,
    ToolState,
)
from agentmesh_agents.domain.approvals import Approvals
from agentmesh_agents.domain.audit import ToolCallAudit
from agentmesh_agents.domain.builtin_tools import builtin_tools, definition_of
from agentmesh_agents.domain.calls import ToolCaller
from agentmesh_agents.domain.cancellation import Cancellation, RunningTurns
from agentmesh_agents.domain.delegation import Delegations
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.grants import AgentToolGrants
from agentmesh_agents.domain.lanes import LaneRunner
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.messaging import Messaging, Outgoing
from agentmesh_agents.domain.models import Agent, Message
from agentmesh_agents.domain.processor import Delivery, MessageProcessor, Outcome
from agentmesh_agents.domain.prompt import PromptBuilder
from agentmesh_agents.domain.react import ReactLoop
from agentmesh_agents.domain.recovery import MailboxRecovery
from agentmesh_agents.domain.registry import AgentRegistry
from agentmesh_agents.domain.tool_models import Grant
from agentmesh_agents.domain.toolbox import ToolBox
from agentmesh_agents.domain.tooling import Tool
from agentmesh_agents.domain.tools import ToolCatalog
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

PROJECT = "7a0c7d51-7a8f-4a43-9d1e-0b6f0f3c2a11"
USER = Identity(subject="user-1", role=GlobalRole.USER, project_id=PROJECT, project_role=ProjectRole.USER)
ADMIN = Identity(subject="admin-1", role=GlobalRole.USER, project_id=PROJECT, project_role=ProjectRole.ADMIN)
ROOT = Identity(subject="root", role=GlobalRole.SUPERADMIN)


class TickingClock:
    """A clock that moves 1 ms every time it is read, so timestamps are strictly ordered."""

    def __init__(self) -> None:
        self._ticks = itertools.count()
        self.start = datetime(2026, 1, 1, tzinfo=UTC)
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return self.start + self.offset + timedelta(milliseconds=next(self._ticks))


@dataclass
class World:
    """The domain wired to in-memory adapters."""

    limits: Limits = field(default_factory=Limits)
    clock: TickingClock = field(default_factory=TickingClock)
    agents: InMemoryAgentRepository = field(default_factory=InMemoryAgentRepository)
    mailbox: InMemoryMailbox = field(default_factory=InMemoryMailbox)
    events: InMemoryConversationEvents = field(default_factory=InMemoryConversationEvents)
    memory: StaticMemory = field(default_factory=StaticMemory)
    inference: ScriptedInference = field(default_factory=ScriptedInference)
    project: str = PROJECT
    user: Identity = USER
    admin: Identity = ADMIN

    extra_tools: list[Tool] = field(default_factory=list)
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.tool_state = ToolState(self.agents)
        self.messages = InMemoryMessageRepository(self.agents, self.tool_state)
        self.tools = InMemoryToolRepository(self.tool_state)
        self.grants = InMemoryGrantRepository(self.tool_state)
        self.calls = InMemoryToolCallRepository(self.tool_state)
        self.approval_store = InMemoryApprovalRepository(self.tool_state, self.messages)
        self.turns = InMemoryTurnRepository(self.tool_state, self.messages)
        self.rewire()

    def rewire(self) -> None:
        """(Re)build the domain objects, e.g. after swapping an adapter."""
        self.registry = AgentRegistry(self.agents, self.limits, self.clock)
        publisher = EventPublisher(self.events, self.clock)
        self.prompts = PromptBuilder(self.memory, self.limits, publisher)
        self.messaging = Messaging(
            self.agents,
            self.messages,
            self.mailbox,
            self.events,
            self.limits,
            self.clock,
            preparation=self.prompts,  # as wired: a sent message's memory search starts at once
        )
        self.delegations = Delegations(
            self.agents, self.messages, self.turns, self.messaging, publisher, self.limits, self.clock
        )
        self.running = RunningTurns()
        self.cancellation = Cancellation(self.messages, self.turns, publisher, self.delegations, self.running)
        self.toolbox = ToolBox([*builtin_tools(self.memory, delegations=self.delegations), *self.extra_tools])
        self.caller = ToolCaller(self.turns, self.grants, self.toolbox, publisher, self.limits, self.clock)
        self.react = ReactLoop(
            self.messages,
            self.grants,
            self.caller,
            publisher,
            self.inference,
            self.prompts,
            self.limits,
            self.clock,
            self.monotonic,
            delegations=self.delegations,
            cancellation=self.cancellation,
            running=self.running,
        )
        self.processor = MessageProcessor(
            self.messages,
            publisher,
            self.inference,
            self.prompts,
            self.limits,
            self.clock,
            react=self.react,
            delegations=self.delegations,
            running=self.running,
        )
        self.lanes = LaneRunner(self.processor, heartbeat_seconds=0.01)
        self.catalog = ToolCatalog(self.tools, self.limits, self.clock)
        self.agent_tools = AgentToolGrants(self.agents, self.grants, self.tools, self.toolbox, self.limits, self.clock)
        self.audit = ToolCallAudit(self.calls)
        self.approvals = Approvals(self.approval_store, self.messaging, publisher, self.limits, self.clock)
        self.recovery = MailboxRecovery(self.messages, self.messaging, self.limits, self.clock, self.approvals)

    async def seed_tools(self) -> None:
        """The built-in tools (and any extra ones) in the catalog."""
        await self.catalog.seed(definition_of(tool) for tool in self.toolbox.builtins)

    async def grant(self, agent: Agent, *grants: Grant | str) -> None:
        """Grant tools (names, or Grants) to an agent, as a superadmin."""
        await self.seed_tools()
        wanted = [g if isinstance(g, Grant) else Grant(g) for g in grants]
        await self.agent_tools.set(ROOT, PROJECT, agent.id, wanted)

    async def agent(self, name: str = "helper", **fields) -> Agent:
        return await self.registry.create(ADMIN, PROJECT, Agent(id="", project_id="", name=name, **fields))

    async def send(self, agent: Agent, content="hello", identity: Identity = USER, **fields) -> Message:
        return await self.messaging.send(identity, PROJECT, Outgoing(agent_id=agent.id, content=content, **fields))

    @staticmethod
    def delivery(message: Message, attempt: int = 1) -> Delivery:
        return Delivery(message.project_id, message.receiver.id, message.id, attempt)

    async def process(self, message: Message, attempt: int = 1) -> Outcome:
        return await self.processor.process(self.delivery(message, attempt))

    async def stored(self, message: Message) -> Message:
        found = await self.messages.get(message.project_id, message.id)
        assert found is not None
        return found


@pytest.fixture
def world() -> World:
    return World()
