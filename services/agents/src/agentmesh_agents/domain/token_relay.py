"""A streamed answer's chunks as TOKEN events, a few chunks to an event.

One event per model chunk costs a JetStream publish (a round trip, a stored
message) per token: with many agents streaming at once that is most of the
runtime's work. The relay sends the first chunk at once (the watcher's first
token is not delayed), then gathers what comes while that event is published
and for an interval after it began, and sends the gathered text as one event:
one event per interval at most, each at most an interval behind the model. One
publish at a time, so the events keep the chunks' order; `flush` sends what is
gathered before the turn publishes anything else (a reset, the reply).

The interval is the pacing's (`TokenPacing`): a few tens of ms while few turns
stream, longer when many do, so that the runtime's TOKEN events stay about a
budget a second however many turns stream at once. Each event costs CPU in every
process it crosses (this one, NATS, the gateway, the watcher), and on a busy
machine that CPU is what the other turns wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.models import Message
from agentmesh_core.aio import wait_set


class TokenPacing:
    """How far apart each streaming turn's TOKEN events go, shared by the turns of a runtime.

    `seconds` at least; when more turns stream at once than `per_second * seconds`,
    each turn's interval grows with their number so that all of them together send
    about `per_second` events a second, up to `longest` seconds apart.
    """

    def __init__(self, seconds: float, per_second: float, longest: float) -> None:
        self._seconds = seconds
        self._per_second = per_second
        self._longest = max(longest, seconds)
        self._streaming = 0

    @property
    def interval(self) -> float:
        """The interval for a turn's next event, as many turns are streaming now."""
        return min(self._longest, max(self._seconds, self._streaming / self._per_second))

    @contextlib.contextmanager
    def streaming(self) -> Iterator[None]:
        """A turn streams inside this block."""
        self._streaming += 1
        try:
            yield
        finally:
            self._streaming -= 1


class TokenRelay:
    """Relays one turn's chunks (for one request) as batched TOKEN events."""

    def __init__(self, events: EventPublisher, request: Message, agent_id: str, pacing: TokenPacing) -> None:
        self._events = events
        self._request = request
        self._agent_id = agent_id
        self._pacing = pacing
        self._gathered: list[str] = []
        self._sending: asyncio.Task[None] | None = None
        self._now = asyncio.Event()  # set by flush: send what is gathered without waiting out the interval

    def add(self, text: str) -> None:
        """Relay a chunk (at once when nothing was sent in the last interval, else with the next event)."""
        if not text:
            return
        self._gathered.append(text)
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send())

    async def flush(self) -> None:
        """Send everything gathered so far; returns once it is published."""
        if self._sending is not None:
            self._now.set()
            await self._sending
            self._sending = None
            self._now.clear()

    async def discard(self) -> None:
        """Drop what is gathered and stop sending (the turn ended without its reply)."""
        self._gathered.clear()
        if self._sending is not None:
            self._sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sending
            self._sending = None

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        while self._gathered:
            began = loop.time()
            text = "".join(self._gathered)
            self._gathered.clear()
            await self._events.token(self._request, self._agent_id, text)  # never raises (best effort)
            rest = self._pacing.interval - (loop.time() - began)
            if rest > 0 and not self._now.is_set():
                await wait_set(self._now, rest)
