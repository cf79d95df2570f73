"""Checks on a schedule's policy: overlap and catch-up window (client input)."""

from __future__ import annotations

from agentmesh_core.errors import InvalidInput
from agentmesh_scheduler.domain.models import DEFAULT_CATCHUP_WINDOW_SECONDS, OverlapPolicy

# Temporal refuses catch-up windows under 10 seconds.
MIN_CATCHUP_WINDOW_SECONDS = 10
MAX_CATCHUP_WINDOW_SECONDS = 366 * 24 * 3600


def overlap(value: OverlapPolicy | str | None) -> OverlapPolicy:
    """The overlap policy; SKIP when not given."""
    if value is None:
        return OverlapPolicy.SKIP
    try:
        return OverlapPolicy(value)
    except ValueError:
        known = ", ".join(policy.value for policy in OverlapPolicy)
        raise InvalidInput(f"overlap_policy must be one of {known}") from None


def catchup_window(seconds: int | None) -> int:
    """The catch-up window in seconds; the default when not given."""
    if seconds is None:
        return DEFAULT_CATCHUP_WINDOW_SECONDS
    if not MIN_CATCHUP_WINDOW_SECONDS <= seconds <= MAX_CATCHUP_WINDOW_SECONDS:
        raise InvalidInput(
            f"catchup_window_seconds must be between {MIN_CATCHUP_WINDOW_SECONDS} and {MAX_CATCHUP_WINDOW_SECONDS}"
        )
    return seconds
