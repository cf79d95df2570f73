"""Agents' tool grants: who may read and change them, and what a grant must hold.

Reads need project membership, changes project admin. A restricted tool can be
granted (or its grant changed) only by a superadmin; a project admin may keep
such a grant as it is, or remove it. Each grant's config is checked by the tool
that will receive it. The runtime checks the grant again before every call
(react.py): a grant is what the agents service enforces, not what the model
was offered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import utcnow
from agentmesh_agents.domain.ports import AgentRepository, GrantRepository, ToolRepository
from agentmesh_agents.domain.steps import json_problem
from agentmesh_agents.domain.tool_models import Grant, GrantedTool
from agentmesh_agents.domain.toolbox import ToolBox
from agentmesh_agents.domain.tools import tool_name
from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity, project_in_scope
from agentmesh_core.ids import parse_id

log = logging.getLogger(__name__)


class AgentToolGrants:
    """GetAgentTools and SetAgentTools."""

    def __init__(
        self,
        agents: AgentRepository,
        grants: GrantRepository,
        tools: ToolRepository,
        toolbox: ToolBox,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._agents = agents
        self._grants = grants
        self._tools = tools
        self._toolbox = toolbox
        self._limits = limits
        self._clock = clock

    async def _agent(self, project_id: str, agent_id: str) -> str:
        agent_id = parse_id(agent_id, "agent_id")
        if await self._agents.get(project_id, agent_id) is None:
            raise NotFound("agent not found")
        return agent_id

    async def get(self, identity: Identity, project_id: str, agent_id: str) -> list[GrantedTool]:
        """The agent's grants, by tool name."""
        project_id = project_in_scope(identity, project_id)
        agent_id = await self._agent(project_id, agent_id)
        return await self._grants.for_agent(project_id, agent_id)

    async def set(
        self, identity: Identity, project_id: str, agent_id: str, grants: Sequence[Grant]
    ) -> list[GrantedTool]:
        """Make `grants` the agent's whole set of tools."""
        project_id = project_in_scope(identity, project_id, admin=True)
        if len(grants) > self._limits.grants_max:
            raise InvalidInput(f"at most {self._limits.grants_max} tools per agent")
        names = [tool_name(grant.tool_name) for grant in grants]
        if len(set(names)) != len(names):
            raise InvalidInput("each tool may be granted once")
        agent_id = await self._agent(project_id, agent_id)
        current = {granted.tool.name: granted.grant for granted in await self._grants.for_agent(project_id, agent_id)}
        checked = [await self._checked(identity, grant, current.get(grant.tool_name)) for grant in grants]
        stored = await self._grants.replace(project_id, agent_id, checked, self._clock())
        log.info("agent %s tools set: %s", agent_id, ", ".join(names) or "none")
        return stored

    async def _checked(self, identity: Identity, grant: Grant, previous: Grant | None) -> Grant:
        tool = await self._tools.get(grant.tool_name)
        if tool is None:
            raise InvalidInput(f"unknown tool {grant.tool_name!r}")
        if grant.requires_approval is not None and not isinstance(grant.requires_approval, bool):
            raise InvalidInput("requires_approval must be true, false or null")
        config = self._toolbox.validate_config(tool, self._config(grant.tool_name, grant.config))
        if tool.restricted and identity.role is not GlobalRole.SUPERADMIN:
            unchanged = (
                previous is not None
                and previous.config == config
                and previous.requires_approval == grant.requires_approval
            )
            if not unchanged:
                raise PermissionDenied(f"tool {tool.name!r} is restricted: only a superadmin may grant it")
        return Grant(tool.name, config, grant.requires_approval)

    def _config(self, name: str, config: Any) -> dict[str, Any]:
        if config is None:
            return {}
        if not isinstance(config, dict):
            raise InvalidInput(f"config of {name} must be a JSON object")
        problem = json_problem(config)
        if problem is not None:
            raise InvalidInput(f"config of {name}: {problem}")
        if len(json.dumps(config, separators=(",", ":")).encode()) > self._limits.grant_config_max_bytes:
            raise InvalidInput(f"config of {name} must be at most {self._limits.grant_config_max_bytes} bytes")
        return config
