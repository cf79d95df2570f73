"""send_message_to_agent: ask another agent of the same project, and (optionally) wait for its reply.

The project always comes from the call context: `agent` is looked up among the
calling agent's project's agents only (by id or by name), so no argument can
reach another project. See domain/delegation.py for waiting, fan-out and the
chain limits.
"""

from __future__ import annotations

from typing import Any

from agentmesh_agents.domain.delegation import Delegations
from agentmesh_agents.domain.tooling import NO_CONFIG, CallContext, Observation, config_by_schema

AGENT_MAX_CHARS = 200
CONTENT_MAX_CHARS = 8000


class SendMessageToAgent:
    """Delegates work to another agent of the project."""

    name = "send_message_to_agent"
    description = (
        "Send a message to another agent of this project (by name or id). With wait_for_reply, its reply "
        "becomes this call's observation; ask several agents one after the other to have them work in parallel."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "agent": {"type": "string", "minLength": 1, "maxLength": AGENT_MAX_CHARS},
            "content": {"type": "string", "minLength": 1, "maxLength": CONTENT_MAX_CHARS},
            "wait_for_reply": {"type": "boolean", "default": True},
        },
        "required": ["agent", "content"],
        "additionalProperties": False,
    }
    restricted = False
    requires_approval = False

    def __init__(self, delegations: Delegations) -> None:
        self._delegations = delegations

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return config_by_schema(NO_CONFIG, config, self.name)

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        wait = bool(arguments.get("wait_for_reply", True))
        return await self._delegations.delegate(call, arguments["agent"], arguments["content"], wait)
