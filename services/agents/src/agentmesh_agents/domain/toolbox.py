"""The runtime's tool lookup: built-ins by name, other kinds through their port."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentmesh_agents.domain.ports import ExternalTools
from agentmesh_agents.domain.tool_models import ToolDefinition, ToolKind
from agentmesh_agents.domain.tooling import Tool, config_by_schema


class ToolBox:
    """Finds the implementation of a catalog entry: built-ins by name, other kinds by their port."""

    def __init__(self, builtins: Iterable[Tool], external: Mapping[ToolKind, ExternalTools] | None = None) -> None:
        self._builtins = {tool.name: tool for tool in builtins}
        self._external = dict(external or {})

    @property
    def builtins(self) -> list[Tool]:
        """The built-in tools, by name."""
        return [self._builtins[name] for name in sorted(self._builtins)]

    def tool_for(self, definition: ToolDefinition) -> Tool | None:
        """The Tool behind a catalog entry; None when nothing implements it here."""
        if definition.kind is ToolKind.BUILTIN:
            return self._builtins.get(definition.name)
        external = self._external.get(definition.kind)
        return external.tool_for(definition) if external is not None else None

    def validate_config(self, definition: ToolDefinition, config: dict[str, Any]) -> dict[str, Any]:
        """A grant's config, checked by the tool that will receive it."""
        tool = self.tool_for(definition)
        if tool is None:
            # Nothing to ask: accept a JSON object and let the runtime report the missing tool.
            return config_by_schema({"type": "object"}, config, definition.name)
        return tool.validate_config(config)
