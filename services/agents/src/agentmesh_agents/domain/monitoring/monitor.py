"""The monitor: reads every project's system events and applies the rules.

Every replica of the agents service runs one and reads all events (they are few),
so each keeps the same counts; the alerts' dedup keys make one of them act
(alerts.py). On start it replays the events of the last day: the daily summary
counts them, and the rules see the windows they were in. A trip whose event is
older than two of its windows is not acted on (it was handled, or is history).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agentmesh_agents.domain.models import utcnow
from agentmesh_agents.domain.monitoring.alerts import Alerts
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventFeed
from agentmesh_agents.domain.monitoring.rules import RuleBook, Trip
from agentmesh_agents.domain.monitoring.summary import Tally
from agentmesh_core.aio import wait_set

log = logging.getLogger(__name__)

# How far back the monitor reads when it starts: the daily summary's day.
REPLAY = timedelta(days=1)
_FORGET_EVERY = 500
_RETRY_SECONDS = 2.0
_RETRY_ALERTS_SECONDS = 30.0


class Monitor:
    """Counts system events, trips rules, raises alerts."""

    def __init__(
        self,
        rules: RuleBook,
        alerts: Alerts,
        tally: Tally,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.rules = rules
        self.tally = tally
        self._alerts = alerts
        self._clock = clock
        self._seen = 0
        self._unraised: list[Trip] = []  # trips whose alert failed (the database was down): tried again

    async def observe(self, event: SystemEvent) -> list[Trip]:
        """Count one event and act on the rules it trips (and on earlier trips not raised yet); those acted on."""
        self.tally.add(event)
        acted = await self._raise(self.rules.observe(event))
        self._seen += 1
        if self._seen % _FORGET_EVERY == 0:
            now = self._clock()
            self.rules.forget_before(now)
            self.tally.forget_before(now)
        return acted

    async def retry(self) -> list[Trip]:
        """Raise the alerts that failed before; those raised now."""
        return await self._raise([])

    async def _raise(self, trips: list[Trip]) -> list[Trip]:
        # The snapshot is taken before any await: observe and retry never take the same trip.
        due, self._unraised = [*self._unraised, *trips], []
        acted = []
        for trip in due:
            if trip.event.occurred_at < self._clock() - 2 * trip.rule.window:
                continue  # history: handled then, or too old to act on now
            try:
                await self._alerts.raise_alert(trip)
            except Exception as error:  # noqa: BLE001 - e.g. the database is down; the next event tries again
                log.warning("monitoring alert %s not raised yet (%s)", trip.key, type(error).__name__)
                self._unraised.append(trip)
                continue
            acted.append(trip)
        return acted

    async def run(self, feed: SystemEventFeed, stop: asyncio.Event) -> None:
        """Read the feed until stop is set."""
        consuming = asyncio.create_task(self._consume(feed))
        try:
            while not stop.is_set():
                await wait_set(stop, _RETRY_ALERTS_SECONDS)
                if not stop.is_set():
                    await self.retry()
        finally:
            consuming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consuming

    async def _consume(self, feed: SystemEventFeed) -> None:
        # After a failure the feed is read again from the last event's time: the events seen
        # again are not counted twice (rules and tally keep their ids).
        since = self._clock() - max(REPLAY, 2 * self.rules.longest_window)
        while True:
            try:
                async for event in feed.subscribe(since):
                    await self.observe(event)
                    since = max(since, event.occurred_at)
            except Exception as error:  # noqa: BLE001 - the monitor must outlive a flaky bus
                log.warning("system events feed failed (%s); reading again", type(error).__name__)
            await asyncio.sleep(_RETRY_SECONDS)
