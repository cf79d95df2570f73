"""Token usage of the gateway's inference calls, per project, day and caller.

Every OpenAI-compatible call (and every /llm/generate) is counted here once it
ends: by the API key that made it, or by the user whose JWT did. Agents' turns
do not pass the gateway: the inference service counts those (per project, in its
metrics and its quota totals), and the usage report shows both side by side.
Writes happen in the background so that a call never waits for its accounting:
calls are summed in memory per project, day and caller, and written together at
most FLUSH_SECONDS later (one upsert per caller rather than one per call). A
report first writes what is pending; a gateway that dies loses at most that much.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

log = logging.getLogger(__name__)

MAX_REPORT_DAYS = 366
FLUSH_SECONDS = 1.0

_Caller = tuple[str, date, str | None, str | None]  # project, day, key id, user id


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One caller's usage in a project on one day (UTC)."""

    day: date
    key_id: str | None
    key_name: str | None
    key_prefix: str | None
    user_id: str | None
    prompt_tokens: int
    completion_tokens: int
    requests: int


@dataclass(frozen=True, slots=True)
class UsageTotal:
    """Usage summed over a group of rows."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    def plus(self, row: UsageRow) -> UsageTotal:
        return UsageTotal(
            self.prompt_tokens + row.prompt_tokens,
            self.completion_tokens + row.completion_tokens,
            self.requests + row.requests,
        )


@dataclass(frozen=True, slots=True)
class UsageReport:
    """A project's usage since a day: the rows, and their sums per day and per caller."""

    since: date
    rows: list[UsageRow]
    by_day: dict[date, UsageTotal]
    by_caller: dict[tuple[str | None, str | None], UsageTotal]  # (key_id, user_id)
    total: UsageTotal


class UsageStore(Protocol):
    """Where usage is kept (SqlUsageStore in adapters/)."""

    async def add(
        self,
        project_id: str,
        day: date,
        key_id: str | None,
        user_id: str | None,
        prompt: int,
        completion: int,
        requests: int,
    ) -> None: ...

    async def rows(self, project_id: str, since: date) -> list[UsageRow]: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class UsageLedger:
    """Counts finished calls and reports a project's usage."""

    def __init__(
        self, store: UsageStore, clock: Callable[[], datetime] = _utcnow, flush_seconds: float = FLUSH_SECONDS
    ) -> None:
        self._store = store
        self._clock = clock
        self._flush_seconds = flush_seconds
        self._sums: dict[_Caller, list[int]] = {}  # caller -> [prompt, completion, requests]
        self._flusher: asyncio.Task[None] | None = None

    def record(self, project_id: str, key_id: str | None, user_id: str | None, prompt: int, completion: int) -> None:
        """Count one call (written in the background, soon)."""
        sums = self._sums.setdefault((project_id, self._clock().date(), key_id, user_id), [0, 0, 0])
        sums[0] += prompt
        sums[1] += completion
        sums[2] += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_seconds)
        await self._flush()

    async def _flush(self) -> None:
        sums, self._sums = self._sums, {}
        for (project_id, day, key_id, user_id), (prompt, completion, requests) in sums.items():
            try:
                await self._store.add(project_id, day, key_id, user_id, prompt, completion, requests)
            except Exception as error:  # noqa: BLE001 - accounting must never fail a call; say so once
                log.warning("could not record token usage of project %s: %s", project_id, type(error).__name__)

    async def drain(self) -> None:
        """Write what is pending now, so that a report includes it."""
        flusher = self._flusher
        if flusher is not None and not flusher.done():
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
        await self._flush()

    async def report(self, project_id: str, days: int) -> UsageReport:
        """The project's usage over the last `days` days (today included)."""
        days = max(1, min(days, MAX_REPORT_DAYS))
        await self.drain()
        since = self._clock().date() - timedelta(days=days - 1)
        rows = await self._store.rows(project_id, since)
        by_day: dict[date, UsageTotal] = {}
        by_caller: dict[tuple[str | None, str | None], UsageTotal] = {}
        total = UsageTotal()
        for row in rows:
            by_day[row.day] = by_day.get(row.day, UsageTotal()).plus(row)
            caller = (row.key_id, row.user_id)
            by_caller[caller] = by_caller.get(caller, UsageTotal()).plus(row)
            total = total.plus(row)
        return UsageReport(since, rows, by_day, by_caller, total)
