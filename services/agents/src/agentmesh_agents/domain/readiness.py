"""Whether the services a turn needs are up, and waiting (bounded) until they are.

The runtime fetches from the mailbox only while the services a turn needs answer
their health checks, so a start-up or a restart of one of them pauses consumption
instead of failing messages. A turn that meets an outage anyway (the service went
away mid-turn) waits here for it to come back, for at most `wait_seconds`; only
then does it fail. Waiting costs no mailbox delivery: the message stays in progress
(heartbeats) while its turn waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from enum import StrEnum

from agentmesh_core.aio import wait_set
from agentmesh_core.errors import Unavailable

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[bool]]
# A probe that takes longer than this says "down".
PROBE_TIMEOUT_SECONDS = 2.0


class Dependency(StrEnum):
    """A service the runtime needs for a turn."""

    INFERENCE = "inference"
    MEMORY = "memory"
    DATABASE = "database"


class StreamInterrupted(Unavailable):
    """A stream broke after its first chunk: the turn restarts, its watchers drop what they got."""


class Readiness:
    """The last health seen of each dependency, refreshed by `run`; waiters are woken on every check."""

    def __init__(
        self,
        probes: Mapping[Dependency, Probe],
        wait_seconds: float,
        interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probes = dict(probes)
        self._up = dict.fromkeys(self._probes, False)
        self.wait_seconds = wait_seconds
        self._interval = interval
        self._monotonic = monotonic
        self._checked = asyncio.Event()
        self._poked = asyncio.Event()

    def is_up(self, names: Iterable[Dependency] | None = None) -> bool:
        """True when every named dependency (all by default) was up at the last check."""
        return all(self._up.get(name, True) for name in (self._up if names is None else names))

    def went_down(self, name: Dependency) -> None:
        """A call to name failed as unavailable: count it down now and check again soon."""
        if self._up.get(name):
            log.warning("%s unavailable: turns wait for it (at most %.0fs)", name.value, self.wait_seconds)
            self._up[name] = False
        self._poked.set()

    async def check(self) -> None:
        """Probe every dependency once (concurrently) and wake the waiters."""
        names = list(self._probes)
        results = await asyncio.gather(*(self._probe(name) for name in names))
        for name, up in zip(names, results, strict=True):
            if up != self._up[name]:
                log.info("%s is %s", name.value, "up" if up else "down: mailbox consumption paused")
            self._up[name] = up
        checked, self._checked = self._checked, asyncio.Event()
        checked.set()

    async def _probe(self, name: Dependency) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                return await self._probes[name]()
        except Exception as error:  # noqa: BLE001 - a probe that fails says "down"
            log.debug("%s probe failed (%s)", name.value, type(error).__name__)
            return False

    async def run(self, stop: asyncio.Event) -> None:
        """Check every `interval` seconds (at once when a call saw an outage) until stop is set."""
        while not stop.is_set():
            await self.check()
            self._poked.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._poked.wait())]
            try:
                await asyncio.wait(waits, timeout=self._interval, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()

    async def wait_up(self, names: Iterable[Dependency] | None = None, timeout: float | None = None) -> bool:
        """Wait until the named dependencies are up; False when timeout (seconds) passed first."""
        wanted = list(self._up if names is None else names)
        deadline = None if timeout is None else self._monotonic() + timeout
        while not self.is_up(wanted):
            left = None if deadline is None else deadline - self._monotonic()
            if left is not None and left <= 0:
                return False
            await wait_set(self._checked, left)
        return True


class Outage:
    """One call's wait through an outage of `name`: bounded by the readiness's wait_seconds in all.

    `wait` returns False once the call has waited that long, counting from its
    first failure; between tries it backs off (0.5 s doubling to 5 s) even when
    the health check already says up, so a service that answers health but not
    calls is not hammered.
    """

    def __init__(self, readiness: Readiness, name: Dependency, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._readiness = readiness
        self._name = name
        self._monotonic = monotonic
        self._deadline = monotonic() + readiness.wait_seconds
        self._backoff = 0.5

    async def wait(self) -> bool:
        """Wait for the dependency to be back; False when the outage outlasted the limit."""
        self._readiness.went_down(self._name)
        started = self._monotonic()
        if not await self._readiness.wait_up([self._name], timeout=max(self._deadline - started, 0.0)):
            return False
        pause = self._backoff - (self._monotonic() - started)
        self._backoff = min(self._backoff * 2, 5.0)
        if pause > 0:
            await asyncio.sleep(min(pause, max(self._deadline - self._monotonic(), 0.0)))
        return self._monotonic() < self._deadline
