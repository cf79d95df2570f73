"""The narrow interfaces the domain needs from the world; adapters implement them."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agentmesh_agents.domain.mcp_models import McpServer, RemoteResult, RemoteTool
from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.models import Agent, ConversationEvent, Message, MessageFilter, MessageStatus
from agentmesh_agents.domain.tool_models import (
    Approval,
    ApprovalStatus,
    Grant,
    GrantedTool,
    ToolCallFilter,
    ToolCallOutcome,
    ToolCallRecord,
    ToolDefinition,
)
from agentmesh_agents.domain.tooling import Tool
from agentmesh_agents.domain.turns import ParkRecord, StepRecord, TurnState, Wake
from agentmesh_agents.domain.web import FetchedPage


class AgentRepository(Protocol):
    """Stored agents, always scoped by project."""

    async def add(self, agent: Agent) -> Agent:
        """Store a new agent; AlreadyExists when the name is taken in the project."""

    async def get(self, project_id: str, agent_id: str) -> Agent | None: ...

    async def list(self, project_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Agent]:
        """A project's agents by creation time (then id), starting after the (created_at, id) key `after`."""

    async def update(self, agent: Agent) -> Agent | None:
        """Replace an agent's fields; None when it is gone, AlreadyExists on a name clash."""

    async def named(self, project_id: str, name: str) -> Agent | None:
        """The project's agent with that name."""

    async def delete(self, project_id: str, agent_id: str) -> bool: ...

    async def delete_project(self, project_id: str) -> int:
        """Remove every agent of a project; returns how many."""


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """What processing a delivery decides on, read in one transaction.

    When the request is missing or already final the other fields are left unset.
    `history` is set when the same transaction also began the turn (see
    MessageRepository.delivery_state).
    """

    request: Message | None
    agent: Agent | None = None
    answered: bool = False  # a reply to the request is stored
    earlier_id: str | None = None  # an earlier unfinished message to the same agent, recently active
    grants: tuple[GrantedTool, ...] = ()  # the agent's tools (a turn with none is a plain chat)
    turn: TurnState | None = None  # the request's ReAct turn so far, if one started
    history: tuple[Message, ...] | None = None  # the turn was begun with the read: its conversation so far


class MessageRepository(Protocol):
    """The message log, always scoped by project."""

    async def add(self, message: Message) -> tuple[Message, bool]:
        """Store a message; on an idempotency key already used returns (the first message, False).

        NotFound when the receiver is an agent the project does not have.
        """

    async def get(self, project_id: str, message_id: str) -> Message | None: ...

    async def list(
        self, project_id: str, where: MessageFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[Message]:
        """Messages matching the filter, newest first, starting after the (created_at, id) key `after`."""

    async def conversation_exists(self, project_id: str, conversation_id: str) -> bool: ...

    async def delivery_state(
        self,
        project_id: str,
        agent_id: str,
        message_id: str,
        begin: Callable[[DeliveryState], bool] | None = None,
        history_limit: int = 0,
    ) -> DeliveryState:
        """The request, its receiving agent, whether it has a reply, the id of the oldest unfinished
        (queued/processing) message to the same agent created before it, the agent's grants and
        the request's turn state.

        When `begin` (pure, called in the transaction) says the state read starts a turn, the same
        transaction begins it as begin_processing does: the state comes back with its `history`."""

    # builtins.list from here on: inside the class, `list` is the method above.
    async def begin_processing(self, request: Message, history_limit: int) -> builtins.list[Message]:
        """In one transaction mark the request processing (unless it already is, or is final) and
        return the last `history_limit` complete messages of its conversation created before it,
        oldest first."""

    async def set_status(
        self, project_id: str, message_id: str, status: MessageStatus, error: str = ""
    ) -> Message | None:
        """Change the status (and error text) of a message not yet final; None when gone or final."""

    async def complete_with_reply(self, request: Message, reply: Message) -> Message:
        """In one transaction store the reply and mark the request complete.

        A request has at most one reply: when one exists already, it is returned
        and nothing is written.
        """

    async def mark_published(self, project_id: str, message_ids: builtins.list[str], at: datetime) -> None:
        """Record that these messages of the project were handed to their mailboxes."""

    async def due_for_publish(
        self, unpublished_before: datetime, published_before: datetime, limit: int
    ) -> builtins.list[Message]:
        """Messages to post to their mailbox again: queued ones never posted, created before
        `unpublished_before`; and unfinished ones (queued or processing) last posted and last
        changed before `published_before`, which the mailbox may have lost or given up on."""

    async def with_replies(
        self, project_id: str, message_ids: Sequence[str]
    ) -> builtins.list[tuple[Message, Message | None]]:
        """The messages with those ids (those that exist), each with its reply if it has one."""

    async def delegated_from(self, project_id: str, message_id: str) -> builtins.list[Message]:
        """The unfinished requests agents sent while working on the message (its delegations)."""

    async def delete_project(self, project_id: str) -> int:
        """Remove every message of a project (with its turns, tool calls and approvals); returns how many."""


class Mailbox(Protocol):
    """Agents' durable mailboxes."""

    async def post(self, message: Message, dedup_id: str | None = None) -> None:
        """Put a message in its receiver's mailbox (deduplicated by dedup_id, else the message id)."""


class ConversationEvents(Protocol):
    """Where the runtime tells watchers what happens in a conversation."""

    async def publish(self, event: ConversationEvent, dedup_id: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A conversation event as the event log keeps it: watchers get it relayed, never decoded here."""

    sequence: int
    data: bytes


class ConversationFeed(Protocol):
    """The stored stream of conversation events."""

    def subscribe(self, project_id: str, conversation_id: str, after_sequence: int) -> AsyncIterator[StoredEvent]:
        """Events after a sequence number, then live ones, until the caller stops iterating."""

    async def purge_project(self, project_id: str) -> None:
        """Forget every event of a project's conversations."""

    def opened(self, project_id: str, conversation_id: str) -> None:
        """A conversation was just made here: it has no events yet (its first needs no look-up)."""


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One turn of a chat prompt: role is "system", "user" or "assistant"."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Generation:
    """One whole completion and what it cost; `truncated` when max_tokens cut it short."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    truncated: bool = False


class Inference(Protocol):
    """The language model."""

    def stream_chat(self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str) -> AsyncIterator[str]:
        """Generate a reply, yielding text chunks; Unavailable when the model server is down."""

    async def generate(
        self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str, json_schema: str
    ) -> Generation:
        """One completion constrained to a JSON Schema (structured output), whole."""


class Memory(Protocol):
    """Project knowledge retrieval."""

    async def search(self, project_id: str, agent_id: str, query: str, k: int) -> list[str]:
        """Contents of the k entries closest to the query, best first."""

    async def has_entries(self, project_id: str) -> bool:
        """Whether the project holds any entry at all (a cheap look: no embedding)."""

    async def store(self, project_id: str, agent_id: str, content: str, idempotency_key: str = "") -> str:
        """Add an entry (as the agent's); returns its id. The same key again returns the first entry's id."""


class TurnPreparation(Protocol):
    """What a message's turn will need, started as the message is accepted (its memory search)."""

    def prepare(self, message: Message) -> None:
        """Start it for this message, which is being stored."""

    def abandon(self, message_id: str) -> None:
        """Stop what was started for a message that was not stored (refused, or a repeat)."""


class ToolRepository(Protocol):
    """The platform-wide tool catalog."""

    async def list(self, after: str | None, limit: int) -> list[ToolDefinition]:
        """Tools by name, after that name when one is given."""

    async def get(self, name: str) -> ToolDefinition | None: ...

    async def add(self, tool: ToolDefinition) -> ToolDefinition:
        """Store a new tool; AlreadyExists when the name is taken."""

    async def update(self, tool: ToolDefinition) -> ToolDefinition | None:
        """Replace a tool's fields (not its kind or creation time); None when it is gone."""

    async def seed(self, tool: ToolDefinition) -> None:
        """Insert a built-in, or bring its description and schema up to date (its switches stay)."""


class GrantRepository(Protocol):
    """Agents' tool grants, always scoped by project."""

    async def for_agent(self, project_id: str, agent_id: str) -> list[GrantedTool]:
        """The agent's grants with their catalog entries, by tool name."""

    async def find(self, project_id: str, agent_id: str, tool_name: str) -> GrantedTool | None:
        """One grant with its catalog entry (read at run time, right before a call)."""

    async def replace(
        self, project_id: str, agent_id: str, grants: Sequence[Grant], now: datetime
    ) -> builtins.list[GrantedTool]:
        """Make `grants` the agent's whole set (last_used kept for tools still granted).

        NotFound when the project has no such agent or a tool is not in the catalog.
        """


class ToolCallRepository(Protocol):
    """The audit of tool calls (written by the TurnRepository with each step)."""

    async def list(
        self, project_id: str, where: ToolCallFilter, before: tuple[datetime, str] | None, limit: int
    ) -> builtins.list[ToolCallRecord]:
        """Calls matching the filter, newest first (then by id), older than that key when one is given."""


class ApprovalRepository(Protocol):
    """Approvals of tool calls, always scoped by project."""

    async def list(
        self, project_id: str, status: ApprovalStatus | None, before: tuple[datetime, str] | None, limit: int
    ) -> builtins.list[Approval]:
        """Approvals (in that status), newest first (then by id), older than that key when one is given."""

    async def get(self, project_id: str, approval_id: str) -> Approval | None: ...

    async def decide(
        self, decided: Approval, wake: Wake, outcome: ToolCallOutcome | None
    ) -> tuple[bool, Message | None]:
        """In one transaction, if the approval is still pending: store the decision, set the call's
        audit outcome (when given), record the wake on the parked turn and put the request back to
        `queued` (not yet posted). Returns (whether it was pending, the request to post again; None
        when no turn waits any more, e.g. its request ended)."""

    async def expiring(self, now: datetime, limit: int) -> builtins.list[Approval]:
        """Pending approvals whose time ran out, oldest first."""


class TurnRepository(Protocol):
    """ReAct turns' state, and the writes each step makes with it (one transaction each)."""

    async def record_step(self, state: TurnState, step: StepRecord) -> None:
        """Store the step's messages (skipping stored ones), its audit record (insert or update),
        the grant's last_used, and the turn's new state."""

    async def park(self, state: TurnState, record: ParkRecord) -> bool:
        """Store the call message, its pending audit record, the approval (if any) and the parked
        state, and set the request's status; False (nothing written) when the request is final."""

    async def wake(self, project_id: str, message_id: str, wake: Wake) -> Message | None:
        """Record the wake on a turn parked on `wake.key` and put its request back to `queued`;
        returns the request to post again, None when no turn waits on that key."""

    async def get(self, message_id: str) -> TurnState | None:
        """A turn's stored state."""

    async def save(self, state: TurnState) -> None:
        """Store a turn's state as it is (a resumed turn's: no longer parked, its wake consumed)."""

    async def cancel(self, project_id: str, message_id: str) -> Message | None:
        """In one transaction mark a message that is not final `cancelled` and drop what its turn
        waited for (no parked turn stays); the cancelled message, None when it is gone or final."""

    async def expired_waits(self, kind: str, now: datetime, limit: int) -> builtins.list[TurnState]:
        """Turns parked with that kind whose time ran out before a wake reached them, oldest first."""


class ExternalTools(Protocol):
    """Tools of a kind whose implementation lives outside the service (MCP servers: part B).

    It adapts a catalog entry to a Tool; it returns None when it cannot (an
    unknown server), and the runtime then gives the model an error observation.
    """

    def tool_for(self, definition: ToolDefinition) -> Tool | None: ...


class WebFetcher(Protocol):
    """GET over HTTP(S) for http_fetch, with the address policy of domain/web.py enforced inside.

    Each hop (the first URL and every redirect) is checked with `host_allowed`,
    resolved once, every address checked with `address_refusal`, and the
    connection made to the checked address. PermissionDenied for a refused
    host, address or scheme; Unavailable when the site cannot be reached.
    """

    async def fetch(
        self, url: str, host_allowed: Callable[[str], bool], max_bytes: int, timeout: float
    ) -> FetchedPage: ...


class McpServerRepository(Protocol):
    """Registered MCP servers; their catalog tools change with them, in the same transaction."""

    async def add(self, server: McpServer, tools: builtins.list[ToolDefinition]) -> McpServer:
        """Store a new server and its tools; AlreadyExists when the server or a tool name is taken."""

    async def list(self) -> builtins.list[McpServer]:
        """Every server, by name."""

    async def get(self, name: str) -> McpServer | None: ...

    async def delete(self, name: str) -> bool:
        """Remove the server and its tools (their grants go with them); False when unknown."""

    async def replace_tools(
        self, name: str, tools: builtins.list[ToolDefinition], mapping: dict[str, str], at: datetime
    ) -> McpServer | None:
        """Make the server's catalog tools exactly these (switches of the kept ones stay); None when unknown."""


class McpClient(Protocol):
    """Talks to MCP servers (the official SDK in the adapter). Unavailable when one cannot be reached."""

    async def list_tools(self, url: str, headers: dict[str, str], timeout: float) -> builtins.list[RemoteTool]: ...

    async def call_tool(
        self, url: str, headers: dict[str, str], tool: str, arguments: dict[str, Any], timeout: float
    ) -> RemoteResult: ...
