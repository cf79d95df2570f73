"""Per-project message rate: every accepted message costs a model run, so one project
sending a flood must not take the runtime from the others.

Past the rate, SendMessage is refused at once with ResourceExhausted (the
gateway answers 429 with Retry-After) and nothing is stored. The window counts
in this replica's memory: N replicas admit up to N times the rate.
"""

from __future__ import annotations

from agentmesh_core.quotas import RateLimit


class MessageAdmission:
    """Admits a project's messages up to a `limits` rate spec ("10/second;300/minute"); None: no limit."""

    def __init__(self, rate: str | None) -> None:
        self._rate = RateLimit(rate, "messages") if rate else None

    def sending(self, project_id: str) -> None:
        """Count one message of the project; ResourceExhausted when over its rate."""
        if self._rate is not None:
            self._rate.acquire(project_id)
