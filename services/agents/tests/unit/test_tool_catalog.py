"""The tool catalog and grants: who may change them, and the rules a definition and a grant keep."""

from __future__ import annotations

import pytest

from agentmesh_agents.domain.tool_models import Grant, ToolDefinition, ToolKind
from agentmesh_core.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

from .conftest import ADMIN, PROJECT, ROOT, USER, World

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


def mcp_tool(name: str = "search.web", **fields) -> ToolDefinition:
    values = {"description": "Searches the web.", "parameters": SCHEMA, **fields}
    return ToolDefinition(name=name, kind=ToolKind.MCP, **values)


async def test_builtins_are_seeded_idempotently_and_keep_their_switches(world: World) -> None:
    await world.seed_tools()
    await world.catalog.update(ROOT, "calculator", {"enabled": False, "requires_approval": True})
    await world.seed_tools()

    page = await world.catalog.list(USER, 50, "")
    names = [t.name for t in page.items]
    assert names == ["calculator", "current_time", "memory_search", "memory_store", "send_message_to_agent"]
    calculator = await world.tools.get("calculator")
    assert (calculator.enabled, calculator.requires_approval) == (False, True)


async def test_anyone_reads_only_a_superadmin_writes(world: World) -> None:
    with pytest.raises(PermissionDenied):
        await world.catalog.create(ADMIN, mcp_tool())
    created = await world.catalog.create(ROOT, mcp_tool(restricted=True))
    assert created.kind is ToolKind.MCP and created.restricted
    with pytest.raises(PermissionDenied):
        await world.catalog.update(ADMIN, created.name, {"enabled": False})
    with pytest.raises(AlreadyExists):
        await world.catalog.create(ROOT, mcp_tool())
    assert [t.name for t in (await world.catalog.list(USER, 50, "")).items] == ["search.web"]


@pytest.mark.parametrize(
    "tool",
    [
        mcp_tool(name="Bad Name"),
        mcp_tool(name="x" * 65),
        mcp_tool(name="nodot"),
        ToolDefinition("calc2", "x", SCHEMA, ToolKind.BUILTIN),
        mcp_tool(description=""),
        ToolDefinition("a.b", "d", {"type": "string"}, ToolKind.MCP),
        ToolDefinition("a.b", "d", {"type": "object", "properties": 5}, ToolKind.MCP),
        ToolDefinition("a.b", "d", {"type": "object", "description": "x" * 20_000}, ToolKind.MCP),
    ],
)
async def test_bad_definitions_are_invalid_input(world: World, tool: ToolDefinition) -> None:
    with pytest.raises(InvalidInput):
        await world.catalog.create(ROOT, tool)


async def test_builtins_can_be_switched_not_redefined(world: World) -> None:
    await world.seed_tools()
    with pytest.raises(FailedPrecondition):
        await world.catalog.update(ROOT, "calculator", {"description": "evil"})
    with pytest.raises(FailedPrecondition):
        await world.catalog.update(ROOT, "calculator", {"parameters": {"type": "object"}})
    with pytest.raises(InvalidInput):
        await world.catalog.update(ROOT, "calculator", {"kind": "mcp"})
    with pytest.raises(InvalidInput):
        await world.catalog.update(ROOT, "calculator", {})
    with pytest.raises(NotFound):
        await world.catalog.update(ROOT, "nothing.here", {"enabled": False})
    updated = await world.catalog.update(ROOT, "calculator", {"restricted": True})
    assert updated.restricted and updated.kind is ToolKind.BUILTIN


async def test_grants_are_read_by_members_and_set_by_admins(world: World) -> None:
    await world.seed_tools()
    agent = await world.agent()
    granted = await world.agent_tools.set(
        ADMIN, PROJECT, agent.id, [Grant("current_time", {"default_timezone": "UTC"}, requires_approval=True)]
    )
    assert [(g.tool.name, g.grant.config, g.needs_approval) for g in granted] == [
        ("current_time", {"default_timezone": "UTC"}, True)
    ]
    assert await world.agent_tools.get(USER, PROJECT, agent.id) == granted
    with pytest.raises(PermissionDenied):
        await world.agent_tools.set(USER, PROJECT, agent.id, [])
    outsider = Identity("u", GlobalRole.USER, "a6a6a6a6-0000-4000-8000-000000000000", ProjectRole.ADMIN)
    with pytest.raises(NotFound):
        await world.agent_tools.get(outsider, PROJECT, agent.id)
    assert await world.agent_tools.set(ADMIN, PROJECT, agent.id, []) == []


@pytest.mark.parametrize(
    "grants",
    [
        [Grant("no_such_tool")],
        [Grant("Bad Name")],
        [Grant("calculator"), Grant("calculator")],
        [Grant("calculator", {"anything": 1})],
        [Grant("current_time", {"default_timezone": "Nowhere/Else"})],
        [Grant("calculator", ["not", "an", "object"])],  # type: ignore[arg-type]
        [Grant("calculator", requires_approval="yes")],  # type: ignore[arg-type]
        [Grant(f"t{i}") for i in range(100)],
    ],
)
async def test_bad_grants_are_invalid_input(world: World, grants: list[Grant]) -> None:
    await world.seed_tools()
    agent = await world.agent()
    with pytest.raises(InvalidInput):
        await world.agent_tools.set(ADMIN, PROJECT, agent.id, grants)


async def test_a_restricted_tool_is_granted_only_by_a_superadmin(world: World) -> None:
    await world.seed_tools()
    await world.catalog.update(ROOT, "memory_store", {"restricted": True})
    agent = await world.agent()
    with pytest.raises(PermissionDenied):
        await world.agent_tools.set(ADMIN, PROJECT, agent.id, [Grant("memory_store")])
    await world.agent_tools.set(ROOT, PROJECT, agent.id, [Grant("memory_store")])
    # A project admin may keep it as it is, add others, or remove it; not change it.
    kept = await world.agent_tools.set(ADMIN, PROJECT, agent.id, [Grant("memory_store"), Grant("calculator")])
    assert [g.tool.name for g in kept] == ["calculator", "memory_store"]
    with pytest.raises(PermissionDenied):
        await world.agent_tools.set(ADMIN, PROJECT, agent.id, [Grant("memory_store", requires_approval=False)])
    assert [g.tool.name for g in await world.agent_tools.set(ADMIN, PROJECT, agent.id, [])] == []


async def test_grants_of_an_unknown_agent_are_not_found(world: World) -> None:
    await world.seed_tools()
    with pytest.raises(NotFound):
        await world.agent_tools.get(USER, PROJECT, "5b0c1a52-9d1e-4e3b-8a51-0d8f0f7c2b11")
    with pytest.raises(InvalidInput):
        await world.agent_tools.get(USER, PROJECT, "not-a-uuid")
