"""current_time: the current date and time in a time zone (the grant may set the default one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentmesh_agents.domain.models import utcnow
from agentmesh_agents.domain.tooling import CallContext, Observation, config_by_schema
from agentmesh_core.errors import InvalidInput

_ZONE = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_+/-]+$"}


def zone(name: str) -> ZoneInfo | None:
    """The IANA time zone of that name, or None."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class CurrentTime:
    """The current_time tool; `clock` is injectable for tests."""

    name = "current_time"
    description = "The current date, time and weekday in an IANA time zone (default UTC)."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"timezone": _ZONE},
        "additionalProperties": False,
    }
    restricted = False
    requires_approval = False
    _config_schema: dict[str, Any] = {
        "type": "object",
        "properties": {"default_timezone": _ZONE},
        "additionalProperties": False,
    }

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        config_by_schema(self._config_schema, config, self.name)
        default = config.get("default_timezone")
        if default is not None and zone(default) is None:
            raise InvalidInput(f"config of {self.name}: unknown time zone {default!r}")
        return config

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        name = arguments.get("timezone") or config.get("default_timezone") or "UTC"
        tz = zone(name)
        if tz is None:
            return Observation(f"error: unknown time zone {name!r} (use an IANA name such as Europe/Paris)", error=True)
        now = self._clock().astimezone(tz)
        return Observation(f"{now.isoformat(timespec='seconds')} ({now.strftime('%A')}, {name})")
