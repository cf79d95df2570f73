"""A project's usage (admins) and its inference quota (superadmins change it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from agentmesh_core.errors import Unavailable
from agentmesh_gateway.accounts.usage import MAX_REPORT_DAYS, UsageRow, UsageTotal
from agentmesh_gateway.deps import AdminScope, Scope, Superadmin
from agentmesh_gateway.routers.api_caller import InferenceDep, UsageDep
from agentmesh_gateway.schemas.usage import (
    QuotaIn,
    QuotaOut,
    UsageCallerOut,
    UsageDayOut,
    UsageOut,
    UsageRowOut,
    UsageTotalOut,
)

router = APIRouter(prefix="/projects/{project_id}", tags=["usage"])


def _caller_out(row: UsageRow, total: UsageTotal) -> UsageCallerOut:
    return UsageCallerOut(
        key_id=row.key_id,
        key_name=row.key_name,
        key_prefix=row.key_prefix,
        user_id=row.user_id,
        prompt_tokens=total.prompt_tokens,
        completion_tokens=total.completion_tokens,
        requests=total.requests,
    )


def _row_out(row: UsageRow) -> UsageRowOut:
    caller = _caller_out(row, UsageTotal(row.prompt_tokens, row.completion_tokens, row.requests))
    return UsageRowOut(day=row.day, **caller.model_dump())


def _day_out(day: date, total: UsageTotal) -> UsageDayOut:
    return UsageDayOut(
        day=day, prompt_tokens=total.prompt_tokens, completion_tokens=total.completion_tokens, requests=total.requests
    )


@router.get("/usage", response_model=UsageOut)
async def project_usage(
    scope: AdminScope,
    usage: UsageDep,
    inference: InferenceDep,
    days: Annotated[int, Query(ge=1, le=MAX_REPORT_DAYS, description="days back, today included")] = 30,
) -> UsageOut:
    """Tokens in and out of API calls per day and per key (or user), and the inference quota in force."""
    report = await usage.report(scope.project.id, days)
    first_row = {(row.key_id, row.user_id): row for row in reversed(report.rows)}
    quota: QuotaOut | None
    try:
        with scope.acting():
            quota = await inference.project_quota(scope.project.id)
    except Unavailable:
        quota = None  # the report of the gateway's own records still stands
    return UsageOut(
        since=report.since,
        total=UsageTotalOut(
            prompt_tokens=report.total.prompt_tokens,
            completion_tokens=report.total.completion_tokens,
            requests=report.total.requests,
        ),
        days=[_day_out(day, total) for day, total in sorted(report.by_day.items(), reverse=True)],
        callers=[_caller_out(first_row[caller], total) for caller, total in report.by_caller.items()],
        rows=[_row_out(row) for row in report.rows],
        quota=quota,
    )


@router.get("/quota", response_model=QuotaOut)
async def project_quota(scope: Scope, inference: InferenceDep) -> QuotaOut:
    """The project's inference quota and its current use (members)."""
    with scope.acting():
        return await inference.project_quota(scope.project.id)


@router.put("/quota", response_model=QuotaOut)
async def set_project_quota(body: QuotaIn, scope: Scope, _: Superadmin, inference: InferenceDep) -> QuotaOut:
    """Override the project's inference quota (superadmins); a field left out means the default."""
    with scope.acting():
        return await inference.set_project_quota(scope.project.id, body)
