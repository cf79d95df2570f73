"""The tools built into the agents service, each a small module with its schema.

`builtin_tools(memory, web)` is the set the service runs and seeds into the
catalog (kind builtin) at start-up. New built-ins (send_message_to_agent,
publish_to_topic) are one more module and one more entry here.
"""

from __future__ import annotations

from agentmesh_agents.domain.builtin_tools.agent_messages import SendMessageToAgent
from agentmesh_agents.domain.builtin_tools.calculator import Calculator
from agentmesh_agents.domain.builtin_tools.clock import CurrentTime
from agentmesh_agents.domain.builtin_tools.http_fetch import HttpFetch
from agentmesh_agents.domain.builtin_tools.memory_tools import MemorySearch, MemoryStore
from agentmesh_agents.domain.builtin_tools.topic_publish import PublishToTopic
from agentmesh_agents.domain.delegation import Delegations
from agentmesh_agents.domain.ports import Memory, WebFetcher
from agentmesh_agents.domain.tool_models import ToolDefinition, ToolKind
from agentmesh_agents.domain.tooling import Tool
from agentmesh_agents.domain.topics import Topics


def builtin_tools(
    memory: Memory,
    web: WebFetcher | None = None,
    topics: Topics | None = None,
    delegations: Delegations | None = None,
) -> list[Tool]:
    """Every built-in tool, wired to the ports it needs (http_fetch only with a WebFetcher,
    publish_to_topic only with Topics, send_message_to_agent only with Delegations)."""
    tools: list[Tool] = [Calculator(), CurrentTime(), MemorySearch(memory), MemoryStore(memory)]
    if web is not None:
        tools.append(HttpFetch(web))
    if topics is not None:
        tools.append(PublishToTopic(topics))
    if delegations is not None:
        tools.append(SendMessageToAgent(delegations))
    return tools


def definition_of(tool: Tool) -> ToolDefinition:
    """A built-in's catalog entry as code defines it (its defaults for the switches included)."""
    return ToolDefinition(
        name=tool.name,
        description=tool.description,
        parameters=tool.parameters,
        kind=ToolKind.BUILTIN,
        restricted=bool(getattr(tool, "restricted", False)),
        requires_approval=bool(getattr(tool, "requires_approval", False)),
    )
