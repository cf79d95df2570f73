"""The sweep that reports waiting work older than its limit: stale mailboxes and long-parked turns.

Every replica sweeps; each report's id is the waiting message's, so the stream's
dedup window and the rules' id counting make repeats harmless. A paused agent's
mailbox is not stale: it waits on purpose.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from agentmesh_agents.domain.models import utcnow
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind, SystemReporter
from agentmesh_core.aio import wait_set

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WaitingWork:
    """The oldest waiting message of an agent (or a parked turn), and since when it waits."""

    project_id: str
    agent_id: str
    message_id: str
    since: datetime


class StaleWork(Protocol):
    """Reads waiting work from the message log and the turns."""

    async def oldest_waiting(self, before: datetime) -> list[WaitingWork]:
        """Per active agent, its oldest queued or processing message, where that is older than `before`."""

    async def parked(self, before: datetime) -> list[WaitingWork]:
        """Turns parked since before `before`."""


class StalenessSweep:
    """Reports mailboxes waiting longer than `mailbox_max_age` and turns parked longer than `parked_max_age`."""

    def __init__(
        self,
        work: StaleWork,
        reporter: SystemReporter,
        mailbox_max_age: timedelta,
        parked_max_age: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._work = work
        self._reporter = reporter
        self._mailbox_max_age = mailbox_max_age
        self._parked_max_age = parked_max_age
        self._clock = clock

    async def sweep(self) -> int:
        """One pass; how many reports it made."""
        now = self._clock()
        reports = [
            (SystemEventKind.MAILBOX_STALE, item)
            for item in await self._work.oldest_waiting(now - self._mailbox_max_age)
        ]
        reports += [
            (SystemEventKind.TURN_PARKED_LONG, item) for item in await self._work.parked(now - self._parked_max_age)
        ]
        for kind, item in reports:
            age = (now - item.since).total_seconds()
            await self._reporter.report(
                SystemEvent(
                    id=f"{kind.value}-{item.message_id}",
                    kind=kind,
                    project_id=item.project_id,
                    occurred_at=now,
                    agent_id=item.agent_id,
                    message_id=item.message_id,
                    detail=f"message {item.message_id} has waited {int(age // 60)} minutes",
                    age_seconds=age,
                )
            )
        return len(reports)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Sweep every `interval` seconds until stop is set; a failed pass is logged and tried again."""
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception as error:  # noqa: BLE001 - monitoring must not stop serving
                log.warning("staleness sweep failed (%s)", type(error).__name__)
            await wait_set(stop, interval)
