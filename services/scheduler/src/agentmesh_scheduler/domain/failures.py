"""Failed schedule runs and jobs, reported to the platform's monitor (through the agents
service: the scheduler has no connection to the message bus)."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Protocol

from agentmesh_core.errors import AgentmeshError, NotFound, Unavailable

log = logging.getLogger(__name__)


class Failure(StrEnum):
    """What failed."""

    SCHEDULE_RUN = "schedule_run"  # a run could not send its message or start its job
    JOB = "job"  # a job ended failed


class FailureReports(Protocol):
    """Tells the platform's monitor that a schedule's run or a job failed (the agents service publishes it)."""

    async def failed(
        self, what: Failure, *, project_id: str, agent_id: str, detail: str, occurrence_key: str, subject: str = ""
    ) -> None:
        """Report one failure; the same occurrence_key is the same event (rules count each subject apart).

        NotFound("agent not found") when agent_id is set and the agent is not the project's.
        """
        ...


async def report_failure(
    reports: FailureReports | None,
    what: Failure,
    *,
    project_id: str,
    agent_id: str,
    detail: str,
    key: str,
    subject: str = "",
) -> None:
    """Report once per key; Unavailable propagates (the activity retries; what it recorded is recorded once).

    An agent that is gone (often the failure itself) is left out of the report. Other refusals
    are logged: monitoring must not keep a run's or a job's record from finishing.
    """
    if reports is None:
        return
    try:
        try:
            await reports.failed(
                what, project_id=project_id, agent_id=agent_id, detail=detail, occurrence_key=key, subject=subject
            )
        except NotFound:
            if not agent_id:
                raise
            await reports.failed(
                what, project_id=project_id, agent_id="", detail=detail, occurrence_key=key, subject=subject
            )
    except Unavailable:
        raise
    except AgentmeshError as error:
        log.warning("%s failure not reported to the monitor (%s): %s", what.value, error.message, detail)
