"""What routes need from the services behind the gateway.

The gRPC wrappers (agents.py, memory.py, inference.py, scheduler.py) implement these; tests
use the in-memory fakes (fakes.py). Methods speak HTTP schemas, never protos,
and raise agentmesh_core errors. The caller's identity is bound by the route
(`acting_as`), and the implementation carries it to the service.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

from agentmesh_gateway.schemas.agents import AgentIn, AgentOut, AgentPatch
from agentmesh_gateway.schemas.approvals import ApprovalOut, DecisionIn
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.jobs import JobIn, JobOut
from agentmesh_gateway.schemas.llm import GenerateIn, GenerationChunk, LlmHealthOut, ModelOut
from agentmesh_gateway.schemas.mcp_servers import McpRefreshOut, McpServerIn, McpServerOut
from agentmesh_gateway.schemas.memory import MemoryEntryOut, MemoryIn, SearchHitOut, SearchIn
from agentmesh_gateway.schemas.messages import ConversationEventOut, MessageFilter, MessageIn, MessageOut
from agentmesh_gateway.schemas.schedules import ScheduleIn, ScheduleOut, SchedulePatch
from agentmesh_gateway.schemas.tools import GrantIn, GrantOut, ToolCallOut, ToolIn, ToolOut, ToolPatch
from agentmesh_gateway.schemas.topics import TopicMessageIn
from agentmesh_gateway.schemas.usage import QuotaIn, QuotaOut


class AgentsApi(Protocol):
    """AgentService: agents, messages, conversation events."""

    async def create_agent(self, project_id: str, agent: AgentIn) -> AgentOut: ...

    async def get_agent(self, project_id: str, agent_id: str) -> AgentOut: ...

    async def list_agents(self, project_id: str, limit: int, cursor: str) -> Page[AgentOut]: ...

    async def update_agent(self, project_id: str, agent_id: str, patch: AgentPatch) -> AgentOut: ...

    async def delete_agent(self, project_id: str, agent_id: str) -> None: ...

    async def send_message(self, project_id: str, agent_id: str, message: MessageIn) -> MessageOut: ...

    async def publish_to_topic(self, project_id: str, topic: str, message: TopicMessageIn) -> list[MessageOut]:
        """One queued message per agent of the project subscribed to the topic (maybe none)."""
        ...

    async def list_messages(
        self, project_id: str, where: MessageFilter, limit: int, cursor: str
    ) -> Page[MessageOut]: ...

    async def cancel_message(self, project_id: str, message_id: str) -> MessageOut:
        """Stop the message's turn and what it delegated (its sender or a project admin)."""
        ...

    async def open_events(
        self, project_id: str, conversation_id: str, after: int
    ) -> AsyncIterator[ConversationEventOut]:
        """Open a conversation's event stream, raising NotFound (etc.) before any event flows;
        it yields events with sequence > after, then live ones, until the caller stops iterating."""
        ...

    async def delete_project_data(self, project_id: str) -> None: ...


class MemoryApi(Protocol):
    """MemoryService: project knowledge."""

    async def add_memories(self, project_id: str, memory: MemoryIn) -> list[MemoryEntryOut]: ...

    async def list_memories(self, project_id: str, agent_id: str, limit: int, cursor: str) -> Page[MemoryEntryOut]: ...

    async def delete_memory(self, project_id: str, memory_id: str) -> None: ...

    async def search_memories(self, project_id: str, search: SearchIn) -> list[SearchHitOut]: ...

    async def delete_project_memories(self, project_id: str) -> None: ...

    async def embed_texts(self, texts: list[str]) -> tuple[str, list[list[float]]]:
        """The embedding model's name and one vector per text."""
        ...


class InferenceApi(Protocol):
    """InferenceService: generations, the model, the engine, project quotas."""

    async def model(self) -> ModelOut:
        """The served model; Unavailable while it loads."""
        ...

    async def open_generation(
        self, request: GenerateIn, project_id: str, request_id: str
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Start a generation, raising quota, input and loading errors before any chunk flows;
        the iterator yields the chunks (the last with finish_reason and token counts)."""
        ...

    async def status(self) -> LlmHealthOut:
        """Load state and engine statistics."""
        ...

    async def project_quota(self, project_id: str) -> QuotaOut: ...

    async def set_project_quota(self, project_id: str, quota: QuotaIn) -> QuotaOut: ...


class SchedulerApi(Protocol):
    """SchedulerService: Temporal schedules that message agents, and multi-step jobs."""

    async def create_schedule(self, project_id: str, schedule: ScheduleIn) -> ScheduleOut: ...

    async def get_schedule(self, project_id: str, schedule_id: str) -> ScheduleOut: ...

    async def list_schedules(self, project_id: str, limit: int, cursor: str) -> Page[ScheduleOut]: ...

    async def update_schedule(self, project_id: str, schedule_id: str, patch: SchedulePatch) -> ScheduleOut: ...

    async def trigger_schedule(self, project_id: str, schedule_id: str) -> ScheduleOut: ...

    async def delete_schedule(self, project_id: str, schedule_id: str) -> None: ...

    async def delete_project_schedules(self, project_id: str) -> None:
        """Remove the project's schedules and jobs."""
        ...

    async def create_job(self, project_id: str, job: JobIn) -> JobOut: ...

    async def get_job(self, project_id: str, job_id: str) -> JobOut: ...

    async def list_jobs(self, project_id: str, status: str | None, limit: int, cursor: str) -> Page[JobOut]: ...

    async def cancel_job(self, project_id: str, job_id: str) -> JobOut: ...


class ToolsApi(Protocol):
    """AgentService's tools: the catalog, agents' grants, the call audit, approvals."""

    async def list_tools(self, limit: int, cursor: str) -> Page[ToolOut]: ...

    async def create_tool(self, tool: ToolIn) -> ToolOut: ...

    async def update_tool(self, name: str, patch: ToolPatch) -> ToolOut: ...

    async def agent_tools(self, project_id: str, agent_id: str) -> list[GrantOut]: ...

    async def set_agent_tools(self, project_id: str, agent_id: str, grants: list[GrantIn]) -> list[GrantOut]: ...

    async def list_tool_calls(
        self, project_id: str, agent_id: str, message_id: str, limit: int, cursor: str
    ) -> Page[ToolCallOut]: ...

    async def list_approvals(
        self, project_id: str, status: str | None, limit: int, cursor: str
    ) -> Page[ApprovalOut]: ...

    async def decide_approval(self, project_id: str, approval_id: str, decision: DecisionIn) -> ApprovalOut: ...

    async def create_mcp_server(self, server: McpServerIn) -> McpServerOut: ...

    async def list_mcp_servers(self) -> list[McpServerOut]: ...

    async def delete_mcp_server(self, name: str) -> None: ...

    async def refresh_mcp_server(self, name: str) -> McpRefreshOut: ...
