"""The tool catalog: what a tool is, the rules a definition keeps, and who may change it.

The catalog is platform-wide (tools are not a project's): any caller may read
it, only a superadmin may change it. Built-in tools are defined by code and
seeded at start-up; the API can disable them (or restrict them, or make them
ask for approval) but never redefine them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.models import Page, utcnow
from agentmesh_agents.domain.ports import ToolRepository
from agentmesh_agents.domain.tool_models import ToolDefinition, ToolKind
from agentmesh_core import pagination
from agentmesh_core.errors import FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity

log = logging.getLogger(__name__)

TOOL_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


def _name_after(page_token: str) -> str | None:
    """The tool name a catalog page token resumes after; None for the first page."""
    key = pagination.decode_keyset(page_token, 1)
    if key is None:
        return None
    if not TOOL_NAME.match(key[0]):
        raise InvalidInput("invalid cursor")
    return key[0]


# What UpdateTool may change, for each kind: a built-in's description and schema are code's.
MUTABLE_TOOL_FIELDS = frozenset({"description", "parameters", "enabled", "restricted", "requires_approval"})
BUILTIN_MUTABLE_FIELDS = frozenset({"enabled", "restricted", "requires_approval"})


def tool_name(value: str) -> str:
    """A catalog name: lowercase letters, digits, '_', '.', '-', starting with a letter, at most 64."""
    if not isinstance(value, str) or not TOOL_NAME.match(value):
        raise InvalidInput("tool name must match [a-z][a-z0-9_.-]{0,63}")
    return value


def arguments_schema(value: Any, limits: Limits, what: str = "parameters") -> dict[str, Any]:
    """A valid JSON Schema (draft 2020-12) for an arguments object, of bounded size."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON Schema object")
    try:
        size = len(json.dumps(value, allow_nan=False, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be JSON") from None
    if size > limits.tool_schema_max_bytes:
        raise InvalidInput(f"{what} must be at most {limits.tool_schema_max_bytes} bytes")
    if value.get("type") != "object":
        raise InvalidInput(f'{what} must describe an object ("type": "object")')
    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as error:
        raise InvalidInput(f"{what} is not a valid JSON Schema: {error.message[:200]}") from None
    return value


def checked_definition(tool: ToolDefinition, limits: Limits) -> ToolDefinition:
    """The definition, once every field keeps the catalog's rules."""
    description = tool.description
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput("description must not be empty")
    if len(description) > limits.tool_description_max_length or "\x00" in description:
        raise InvalidInput(f"description must be at most {limits.tool_description_max_length} characters, no NUL")
    if not isinstance(tool.kind, ToolKind):
        raise InvalidInput("kind must be builtin or mcp")
    return dataclasses.replace(
        tool, name=tool_name(tool.name), description=description, parameters=arguments_schema(tool.parameters, limits)
    )


def _require_superadmin(identity: Identity) -> None:
    if identity.role is not GlobalRole.SUPERADMIN:
        raise PermissionDenied("superadmin role required")


class ToolCatalog:
    """Reads the catalog (anyone), changes it (superadmin), seeds the built-ins (start-up)."""

    def __init__(self, tools: ToolRepository, limits: Limits, clock: Callable[[], datetime] = utcnow) -> None:
        self._tools = tools
        self._limits = limits
        self._clock = clock

    async def list(self, identity: Identity, page_size: int, page_token: str) -> Page[ToolDefinition]:
        """One page of the catalog, by name; any authenticated caller may read it."""
        limit = pagination.page_size(page_size)
        items = await self._tools.list(_name_after(page_token), limit)
        last = items[-1] if len(items) == limit else None
        return Page(items, pagination.encode_keyset(last.name) if last else "")

    async def create(self, identity: Identity, draft: ToolDefinition) -> ToolDefinition:
        """Add a tool; built-in tools come from code, never from here."""
        _require_superadmin(identity)
        if draft.kind is ToolKind.BUILTIN:
            raise InvalidInput("builtin tools are part of the service and cannot be created")
        if "." not in draft.name:
            # <server>.<tool>: names without a dot belong to the built-ins, now and later.
            raise InvalidInput("an mcp tool is named <server>.<tool>")
        now = self._clock()
        tool = checked_definition(dataclasses.replace(draft, created_at=now, updated_at=now), self._limits)
        stored = await self._tools.add(tool)
        log.info("tool %s added to the catalog (%s)", stored.name, stored.kind.value)
        return stored

    async def update(self, identity: Identity, name: str, changes: Mapping[str, Any]) -> ToolDefinition:
        """Apply changes (field -> value); a built-in can be switched, not redefined."""
        _require_superadmin(identity)
        if not changes:
            raise InvalidInput("update_mask must name at least one field")
        unknown = sorted(set(changes) - MUTABLE_TOOL_FIELDS)
        if unknown:
            raise InvalidInput(f"field {unknown[0]!r} cannot be updated")
        current = await self._tools.get(tool_name(name))
        if current is None:
            raise NotFound("tool not found")
        if current.kind is ToolKind.BUILTIN and set(changes) - BUILTIN_MUTABLE_FIELDS:
            raise FailedPrecondition("builtin tools can be disabled, restricted or made to ask, not redefined")
        for key in ("enabled", "restricted", "requires_approval"):
            if key in changes and not isinstance(changes[key], bool):
                raise InvalidInput(f"{key} must be true or false")
        updated = checked_definition(
            dataclasses.replace(current, **dict(changes), updated_at=self._clock()), self._limits
        )
        stored = await self._tools.update(updated)
        if stored is None:
            raise NotFound("tool not found")
        log.info("tool %s updated (%s)", name, ", ".join(sorted(changes)))
        return stored

    async def seed(self, builtins: Iterable[ToolDefinition]) -> None:
        """Make the catalog hold the built-ins as code defines them (idempotent).

        A built-in's description and schema follow the code; its switches
        (enabled, restricted, requires_approval) stay as an admin set them.
        """
        now = self._clock()
        for tool in builtins:
            await self._tools.seed(dataclasses.replace(tool, created_at=now, updated_at=now))
