"""HTTP shapes of a project's usage and inference quota."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from agentmesh_gateway.schemas.common import Strict

MAX_TOKENS_PER_MINUTE = 10**12
MAX_CONCURRENT = 100_000


class QuotaIn(Strict):
    """`PUT /projects/{p}/quota` (superadmin): a field left out (or null) means the default."""

    tokens_per_minute: int | None = Field(None, ge=0, le=MAX_TOKENS_PER_MINUTE)
    max_concurrent_requests: int | None = Field(None, ge=0, le=MAX_CONCURRENT, description="0 pauses the project")


class QuotaOut(BaseModel):
    """The quota in force in the inference service and the project's use of it."""

    tokens_per_minute: int
    max_concurrent_requests: int
    overridden: bool
    tokens_last_minute: int
    in_flight_requests: int
    # Since the inference service started: agents' turns and API calls alike.
    prompt_tokens_total: int
    completion_tokens_total: int
    requests_total: int
    rejections_total: int


class UsageTotalOut(BaseModel):
    """Tokens and calls summed."""

    prompt_tokens: int
    completion_tokens: int
    requests: int


class UsageDayOut(UsageTotalOut):
    """One UTC day of API calls."""

    day: date


class UsageCallerOut(UsageTotalOut):
    """One caller's API calls: a key (key_id, its name and prefix) or a user's JWT (user_id)."""

    key_id: str | None
    key_name: str | None
    key_prefix: str | None
    user_id: str | None


class UsageRowOut(UsageCallerOut):
    """One caller on one day."""

    day: date


class UsageOut(BaseModel):
    """`GET /projects/{p}/usage`: API calls through the gateway per day and per key, and the
    inference quota with the service's totals (which include agents' turns); `quota` is
    null when the inference service does not answer."""

    since: date
    total: UsageTotalOut
    days: list[UsageDayOut]
    callers: list[UsageCallerOut]
    rows: list[UsageRowOut]
    quota: QuotaOut | None
