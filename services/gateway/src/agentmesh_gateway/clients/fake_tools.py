"""In-memory ToolsApi for gateway tests: catalog, grants, calls, approvals, MCP servers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentmesh_core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from agentmesh_core.identity import GlobalRole
from agentmesh_gateway.clients.fake_support import check, now, page

if TYPE_CHECKING:  # only for the annotation: fakes.py imports this module
    from agentmesh_gateway.clients.fakes import FakeAgents
from agentmesh_gateway.schemas.approvals import ApprovalOut, DecisionIn
from agentmesh_gateway.schemas.common import Page
from agentmesh_gateway.schemas.mcp_servers import McpRefreshOut, McpServerIn, McpServerOut
from agentmesh_gateway.schemas.tools import GrantIn, GrantOut, ToolCallOut, ToolIn, ToolOut, ToolPatch
from agentmesh_grpc.identity import current_identity

_BUILTINS = ("calculator", "current_time", "http_fetch", "memory_search", "memory_store")
_RESTRICTED = frozenset({"http_fetch"})
_OBJECT = {"type": "object"}


class FakeTools:
    """ToolsApi in memory, over FakeAgents' agents: the built-ins seeded, the agents service's rules kept
    (superadmin writes, builtins switched not redefined, restricted grants by superadmins, approvals
    decided once). Tests put audit records in `calls` and approvals in `approvals`."""

    def __init__(self, agents: FakeAgents) -> None:
        self._agents = agents
        self.tools: dict[str, ToolOut] = {
            name: ToolOut(name=name, description=f"the {name} tool", parameters=_OBJECT, kind="builtin",
                          enabled=True, restricted=name in _RESTRICTED, requires_approval=False, created_at=now(),
                          updated_at=now())
            for name in _BUILTINS
        }  # fmt: skip
        self.grants: dict[str, list[GrantOut]] = {}
        self.calls: dict[str, list[ToolCallOut]] = {}  # project -> calls, newest first
        self.approvals: dict[str, list[ApprovalOut]] = {}  # project -> approvals, newest first
        # MCP servers: each offers one tool, `echo`; a URL in `unreachable` answers nothing.
        self.mcp_servers: dict[str, McpServerOut] = {}
        self.mcp_headers: dict[str, dict[str, str]] = {}
        self.unreachable: set[str] = set()

    @staticmethod
    def _superadmin() -> bool:
        identity = current_identity()
        if identity is None:
            raise Unauthenticated("missing caller identity")
        return identity.role is GlobalRole.SUPERADMIN

    async def list_tools(self, limit: int, cursor: str) -> Page[ToolOut]:
        self._superadmin()
        return page(sorted(self.tools.values(), key=lambda t: t.name), limit, cursor, key=lambda t: t.name)

    async def create_tool(self, tool: ToolIn) -> ToolOut:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        if tool.kind == "builtin" or "." not in tool.name:
            raise InvalidInput("an mcp tool is named <server>.<tool>; builtin tools cannot be created")
        if tool.name in self.tools:
            raise AlreadyExists("a tool with this name already exists")
        made = ToolOut(**tool.model_dump(), created_at=now(), updated_at=now())
        self.tools[tool.name] = made
        return made

    async def update_tool(self, name: str, patch: ToolPatch) -> ToolOut:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        tool = self.tools.get(name)
        if tool is None:
            raise NotFound("tool not found")
        changes = patch.changed()
        if not changes:
            raise InvalidInput("update_mask must name at least one field")
        if tool.kind == "builtin" and {"description", "parameters"} & set(changes):
            raise FailedPrecondition("builtin tools can be disabled, restricted or made to ask, not redefined")
        self.tools[name] = tool.model_copy(update={**changes, "updated_at": now()})
        return self.tools[name]

    async def agent_tools(self, project_id: str, agent_id: str) -> list[GrantOut]:
        check(project_id)
        await self._agents.get_agent(project_id, agent_id)
        return list(self.grants.get(agent_id, []))

    async def set_agent_tools(self, project_id: str, agent_id: str, grants: list[GrantIn]) -> list[GrantOut]:
        check(project_id, admin=True)
        await self._agents.get_agent(project_id, agent_id)
        if len({g.name for g in grants}) != len(grants):
            raise InvalidInput("each tool may be granted once")
        before = {g.name: g for g in self.grants.get(agent_id, [])}
        made = []
        for grant in sorted(grants, key=lambda g: g.name):
            tool = self.tools.get(grant.name)
            if tool is None:
                raise InvalidInput(f"unknown tool {grant.name!r}")
            if grant.config and tool.kind == "builtin" and grant.name != "current_time":
                raise InvalidInput(f"config of {grant.name} is invalid")
            old = before.get(grant.name)
            same = old is not None and (old.config, old.requires_approval) == (grant.config, grant.requires_approval)
            if tool.restricted and not same and not self._superadmin():
                raise PermissionDenied(f"tool {grant.name!r} is restricted: only a superadmin may grant it")
            made.append(GrantOut(name=grant.name, config=grant.config, requires_approval=grant.requires_approval,
                                 last_used=old.last_used if old else None, tool=tool))  # fmt: skip
        self.grants[agent_id] = made
        return made

    async def list_tool_calls(
        self, project_id: str, agent_id: str, message_id: str, limit: int, cursor: str
    ) -> Page[ToolCallOut]:
        check(project_id, admin=True)
        found = [
            c
            for c in self.calls.get(project_id, [])
            if (not agent_id or c.agent_id == agent_id) and (not message_id or c.message_id == message_id)
        ]
        return page(found, limit, cursor)

    async def list_approvals(self, project_id: str, status: str | None, limit: int, cursor: str) -> Page[ApprovalOut]:
        check(project_id)
        found = [a for a in self.approvals.get(project_id, []) if not status or a.status == status]
        return page(found, limit, cursor)

    async def decide_approval(self, project_id: str, approval_id: str, decision: DecisionIn) -> ApprovalOut:
        subject = check(project_id, admin=True)
        mine = self.approvals.get(project_id, [])
        index = next((i for i, a in enumerate(mine) if a.id == approval_id), None)
        if index is None:
            raise NotFound("approval not found")
        if mine[index].status != "pending":
            raise FailedPrecondition(f"the approval is already {mine[index].status}")
        status = "approved" if decision.decision == "approve" else "denied"
        mine[index] = mine[index].model_copy(
            update={"status": status, "decided_by": subject, "comment": decision.comment or None, "decided_at": now()}
        )
        return mine[index]

    def _mcp_tools(self, server: McpServerOut) -> list[str]:
        if server.url in self.unreachable:
            raise FailedPrecondition("the MCP server could not be reached")
        name = f"{server.name}.echo"
        self.tools.setdefault(name, ToolOut(name=name, description="Echo the text.", parameters=_OBJECT, kind="mcp",
                                            enabled=True, restricted=False, requires_approval=False,
                                            created_at=now(), updated_at=now()))  # fmt: skip
        return [name]

    async def create_mcp_server(self, server: McpServerIn) -> McpServerOut:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        if server.name in self.mcp_servers:
            raise AlreadyExists("an mcp server with this name already exists")
        headers = dict(server.headers or {})
        out = McpServerOut(name=server.name, url=server.url, header_names=sorted(headers), tool_count=1,
                           created_at=now(), refreshed_at=now())  # fmt: skip
        self._mcp_tools(out)
        self.mcp_servers[server.name], self.mcp_headers[server.name] = out, headers
        return out

    async def list_mcp_servers(self) -> list[McpServerOut]:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        return [self.mcp_servers[name] for name in sorted(self.mcp_servers)]

    async def delete_mcp_server(self, name: str) -> None:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        if self.mcp_servers.pop(name, None) is None:
            raise NotFound("mcp server not found")
        self.mcp_headers.pop(name, None)
        for tool in [t for t in self.tools if t.startswith(f"{name}.")]:
            del self.tools[tool]
        for agent, grants in self.grants.items():
            self.grants[agent] = [g for g in grants if not g.name.startswith(f"{name}.")]

    async def refresh_mcp_server(self, name: str) -> McpRefreshOut:
        if not self._superadmin():
            raise PermissionDenied("superadmin role required")
        server = self.mcp_servers.get(name)
        if server is None:
            raise NotFound("mcp server not found")
        tools = self._mcp_tools(server)
        server = server.model_copy(update={"refreshed_at": now(), "tool_count": len(tools)})
        self.mcp_servers[name] = server
        return McpRefreshOut(server=server, tools=tools)
