"""memory_search and memory_store: the agent's project memory, through the Memory port.

The project (and agent) always come from the call context, never from the
arguments: the schemas have no field that could name another project, and the
memory service checks the scope again on its side.
"""

from __future__ import annotations

from typing import Any

from agentmesh_agents.domain.ports import Memory
from agentmesh_agents.domain.tooling import NO_CONFIG, CallContext, Observation, config_by_schema

QUERY_MAX_CHARS = 2000
CONTENT_MAX_CHARS = 4000
K_MAX = 10


class MemorySearch:
    """Finds the project memory entries closest to a query."""

    name = "memory_search"
    description = "Search the project's memory; returns the closest entries, best first."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": QUERY_MAX_CHARS},
            "k": {"type": "integer", "minimum": 1, "maximum": K_MAX},
        },
        "required": ["query"],
        "additionalProperties": False,
    }
    restricted = False
    requires_approval = False

    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return config_by_schema(NO_CONFIG, config, self.name)

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        hits = await self._memory.search(call.project_id, call.agent_id, arguments["query"], arguments.get("k", 3))
        if not hits:
            return Observation("no matching memory entries")
        return Observation("\n".join(f"{index}. {content}" for index, content in enumerate(hits, 1)))


class MemoryStore:
    """Adds an entry to the project memory (as this agent's)."""

    name = "memory_store"
    description = "Remember a fact: store text in the project's memory."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"content": {"type": "string", "minLength": 1, "maxLength": CONTENT_MAX_CHARS}},
        "required": ["content"],
        "additionalProperties": False,
    }
    restricted = False
    requires_approval = False

    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return config_by_schema(NO_CONFIG, config, self.name)

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        # Keyed by the turn's step: a step run again (a redelivered turn) stores nothing twice.
        key = f"memory-store:{call.message_id}:{call.step}"
        entry_id = await self._memory.store(call.project_id, call.agent_id, arguments["content"], key)
        return Observation(f"stored (memory entry {entry_id})")
