"""Schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool, model_validator

from agentmesh_gateway.schemas import limits
from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.values import JsonValue, Text, UtcDatetime


class ScheduleIn(Strict):
    """Exactly one of cron, interval_seconds, run_at."""

    agent_id: UUID
    cron: Text | None = Field(default=None, min_length=1, max_length=limits.CRON_MAX_LENGTH)
    interval_seconds: int | None = Field(default=None, ge=limits.INTERVAL_SECONDS_MIN, le=limits.INTERVAL_SECONDS_MAX)
    run_at: UtcDatetime | None = None
    timezone: Text = Field(default="UTC", min_length=1, max_length=limits.TIME_ZONE_MAX_LENGTH)
    # Required, as the scheduler requires it: what the agent receives each time.
    payload: JsonValue = Field(description="the message content sent to the agent: text or any JSON")
    enabled: StrictBool = True

    @model_validator(mode="after")
    def _exactly_one_trigger(self) -> ScheduleIn:
        given = [name for name in ("cron", "interval_seconds", "run_at") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'cron', 'interval_seconds', 'run_at'")
        return self


class ScheduleOut(BaseModel):
    id: str
    project_id: str
    agent_id: str
    cron: str | None
    interval_seconds: int | None
    run_at: datetime | None
    timezone: str
    payload: Any
    enabled: bool
    temporal_schedule_id: str
    last_run_at: datetime | None
    last_run_outcome: str | None
    next_run_at: datetime | None
    created_at: datetime | None
