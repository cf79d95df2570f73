"""Agent CRUD rules: validation, unique names, update masks, pagination."""

from __future__ import annotations

import json

import pytest

from agentmesh_agents.domain.models import Agent, AgentStatus
from agentmesh_core.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

ROOT = Identity("root", GlobalRole.SUPERADMIN)


async def test_create_normalises_and_stores(world):
    agent = await world.agent(
        "  helper  ", model_config={"temperature": 0.5, "max_tokens": 64.0}, topics=("daily", "daily", "ops")
    )

    assert agent.name == "helper"
    assert agent.model_config == {"temperature": 0.5, "max_tokens": 64}
    assert isinstance(agent.model_config["max_tokens"], int)
    assert agent.topics == ("daily", "ops")
    assert agent.status is AgentStatus.ACTIVE
    assert await world.registry.get(world.admin, world.project, agent.id) == agent


async def test_names_are_unique_per_project(world):
    await world.agent("dup")
    with pytest.raises(AlreadyExists):
        await world.agent("dup")


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"model_config": {"temperature": 3}},
        {"model_config": {"temperature": "hot"}},
        {"model_config": {"max_tokens": 0}},
        {"model_config": {"max_tokens": 10**9}},
        {"model_config": {"max_tokens": 1.5}},
        {"model_config": {"top_p": 0}},
        {"model_config": {"temprature": 0.5}},
        {"model_config": {"stop": [""]}},
        {"topics": ("has space",)},
        {"system_prompt": "x" * 16_001},
        {"purpose": "nul\x00"},
        {"system_prompt": "lone \udc80"},
        {"model_config": {"temperature": float("nan")}},
        {"model_config": {"stop": ["lone \udc80"]}},
        {"model_config": {"stop": json.loads('{"k":' * 33 + "1" + "}" * 33)}},
    ],
)
async def test_bad_fields_are_invalid_input(world, fields):
    fields = dict(fields)
    name = fields.pop("name", "valid")
    with pytest.raises(InvalidInput):
        await world.agent(name, **fields)


async def test_update_changes_only_masked_fields(world):
    agent = await world.agent("a", purpose="old", system_prompt="keep")

    updated = await world.registry.update(
        world.admin, world.project, agent.id, {"purpose": "new", "status": AgentStatus.PAUSED}
    )

    assert (updated.purpose, updated.status, updated.system_prompt) == ("new", AgentStatus.PAUSED, "keep")
    assert updated.updated_at > agent.updated_at
    assert updated.created_at == agent.created_at


@pytest.mark.parametrize("changes", [{}, {"id": "x"}, {"project_id": "x"}, {"model_config": {"top_p": 2}}])
async def test_bad_updates_are_invalid_input(world, changes):
    agent = await world.agent()
    with pytest.raises(InvalidInput):
        await world.registry.update(world.admin, world.project, agent.id, changes)


async def test_update_to_a_taken_name_conflicts(world):
    await world.agent("one")
    two = await world.agent("two")
    with pytest.raises(AlreadyExists):
        await world.registry.update(world.admin, world.project, two.id, {"name": "one"})


async def test_missing_agents_are_not_found(world):
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(NotFound):
        await world.registry.get(world.admin, world.project, missing)
    with pytest.raises(NotFound):
        await world.registry.update(world.admin, world.project, missing, {"purpose": "x"})
    with pytest.raises(NotFound):
        await world.registry.delete(world.admin, world.project, missing)


async def test_agents_of_other_projects_are_invisible(world):
    agent = await world.agent()
    other = "11111111-1111-4111-8111-111111111111"
    with pytest.raises(NotFound):
        await world.registry.get(ROOT, other, agent.id)  # a superadmin passes the project check
    assert (await world.registry.list(ROOT, other, 0, "")).items == []


async def test_list_pages_by_creation_time(world):
    created = [await world.agent(f"agent-{i}") for i in range(5)]

    first = await world.registry.list(world.admin, world.project, 2, "")
    second = await world.registry.list(world.admin, world.project, 2, first.next_cursor)
    third = await world.registry.list(world.admin, world.project, 2, second.next_cursor)

    assert [a.id for a in first.items + second.items + third.items] == [a.id for a in created]
    assert third.next_cursor == ""
    with pytest.raises(InvalidInput):
        await world.registry.list(world.admin, world.project, 2, "not-a-cursor")
    with pytest.raises(InvalidInput):
        await world.registry.list(world.admin, world.project, -1, "")


async def test_project_scope_is_checked_before_anything_else(world):
    agent = await world.agent()
    outsider = Identity("user-2", GlobalRole.USER, "22222222-2222-4222-8222-222222222222", ProjectRole.ADMIN)
    draft = Agent(id="", project_id="", name="x")
    for call in (
        lambda: world.registry.get(outsider, world.project, agent.id),
        lambda: world.registry.get(outsider, world.project, "not-an-id"),
        lambda: world.registry.list(outsider, world.project, 0, ""),
        lambda: world.registry.create(outsider, world.project, draft),
        lambda: world.registry.update(outsider, world.project, agent.id, {"purpose": "p"}),
        lambda: world.registry.delete(outsider, world.project, agent.id),
    ):
        with pytest.raises(NotFound):
            await call()
    for call in (
        lambda: world.registry.create(world.user, world.project, draft),
        lambda: world.registry.update(world.user, world.project, agent.id, {"purpose": "p"}),
        lambda: world.registry.delete(world.user, world.project, agent.id),
    ):
        with pytest.raises(PermissionDenied):
            await call()
    assert await world.registry.get(world.user, world.project, agent.id) == agent
