"""Agent CRUD: the registry of a project's agents."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from agentmesh_agents.domain import validation
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.model_config import validate_model_config
from agentmesh_agents.domain.models import MUTABLE_AGENT_FIELDS, Agent, AgentStatus, Page, utcnow
from agentmesh_agents.domain.ports import AgentRepository
from agentmesh_core import pagination
from agentmesh_core.errors import InvalidInput, NotFound
from agentmesh_core.identity import Identity, project_in_scope
from agentmesh_core.ids import new_id, parse_id

log = logging.getLogger(__name__)


class AgentRegistry:
    """Creates, reads, changes and deletes agents: reads need project membership, writes project admin."""

    def __init__(self, agents: AgentRepository, limits: Limits, clock: Callable[[], datetime] = utcnow) -> None:
        self._agents = agents
        self._limits = limits
        self._clock = clock

    def _checked(self, agent: Agent) -> Agent:
        limits = self._limits
        if agent.status not in (AgentStatus.ACTIVE, AgentStatus.PAUSED):
            raise InvalidInput("status must be active or paused")
        return dataclasses.replace(
            agent,
            name=validation.agent_name(agent.name, limits),
            purpose=validation.require_text(agent.purpose, "purpose", limits.purpose_max_length),
            system_prompt=validation.require_text(
                agent.system_prompt, "system_prompt", limits.system_prompt_max_length
            ),
            agent_type=validation.require_text(agent.agent_type, "agent_type", limits.agent_type_max_length),
            model_config=validate_model_config(agent.model_config, limits),
            topics=validation.topics(agent.topics, limits),
        )

    async def create(self, identity: Identity, project_id: str, draft: Agent) -> Agent:
        """Store a new agent built from draft (its id, project and times are ignored)."""
        project_id = project_in_scope(identity, project_id, admin=True)
        now = self._clock()
        agent = self._checked(
            dataclasses.replace(draft, id=new_id(), project_id=project_id, created_at=now, updated_at=now)
        )
        stored = await self._agents.add(agent)
        log.info("agent %s created in project %s", stored.id, project_id)
        return stored

    async def get(self, identity: Identity, project_id: str, agent_id: str) -> Agent:
        """The agent, or NotFound."""
        return await self._get(project_in_scope(identity, project_id), parse_id(agent_id, "agent_id"))

    async def _get(self, project_id: str, agent_id: str) -> Agent:
        agent = await self._agents.get(project_id, agent_id)
        if agent is None:
            raise NotFound("agent not found")
        return agent

    async def list(self, identity: Identity, project_id: str, page_size: int, page_token: str) -> Page[Agent]:
        """One page of the project's agents, by creation time."""
        project_id = project_in_scope(identity, project_id)
        limit = pagination.page_size(page_size)
        items = await self._agents.list(project_id, pagination.decode_time_key(page_token), limit)
        return Page(items, pagination.next_time_key(items, limit, lambda agent: (agent.created_at, agent.id)))

    async def update(self, identity: Identity, project_id: str, agent_id: str, changes: Mapping[str, Any]) -> Agent:
        """Apply changes (field name -> new value) to an agent."""
        project_id = project_in_scope(identity, project_id, admin=True)
        agent_id = parse_id(agent_id, "agent.id")
        if not changes:
            raise InvalidInput("update_mask must name at least one field")
        unknown = sorted(set(changes) - MUTABLE_AGENT_FIELDS)
        if unknown:
            raise InvalidInput(f"field {unknown[0]!r} cannot be updated")
        current = await self._get(project_id, agent_id)
        updated = self._checked(dataclasses.replace(current, **dict(changes), updated_at=self._clock()))
        stored = await self._agents.update(updated)
        if stored is None:
            raise NotFound("agent not found")
        log.info("agent %s updated (%s)", agent_id, ", ".join(sorted(changes)))
        return stored

    async def delete(self, identity: Identity, project_id: str, agent_id: str) -> None:
        """Delete an agent; its message history stays in the log."""
        project_id = project_in_scope(identity, project_id, admin=True)
        agent_id = parse_id(agent_id, "agent_id")
        if not await self._agents.delete(project_id, agent_id):
            raise NotFound("agent not found")
        log.info("agent %s deleted from project %s", agent_id, project_id)
