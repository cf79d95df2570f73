"""The `published_at` of posted messages, written a moment later, many in one write.

The mark only keeps the recovery sweep from posting a message again, so it need not
hold up the sender (SendMessage answered 4 ms sooner without it) nor compete with the
message's pick-up, which starts as soon as the post lands: marks wait `delay` seconds
and then go out together, one UPDATE per project for whatever was posted meanwhile
(stamped with the first of those posts' times: a few milliseconds early at most).
A mark lost with a crash (or a failed write) leaves a message the sweep posts again,
and the mailbox drops the repeat by its id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from agentmesh_agents.domain.models import Message
from agentmesh_agents.domain.ports import MessageRepository

log = logging.getLogger(__name__)

MARK_DELAY_SECONDS = 0.05


class PublishedMarks:
    """Posted messages waiting for their mark, by project."""

    def __init__(
        self, messages: MessageRepository, clock: Callable[[], datetime], delay: float = MARK_DELAY_SECONDS
    ) -> None:
        self._messages = messages
        self._clock = clock
        self._delay = delay
        self._pending: dict[str, tuple[datetime, list[str]]] = {}  # project -> (first post's time, ids)
        self._timer: asyncio.TimerHandle | None = None  # the delay before the next write
        self._writing: asyncio.Task[None] | None = None

    def add(self, message: Message) -> None:
        """Mark this posted message soon."""
        self._pending.setdefault(message.project_id, (self._clock(), []))[1].append(message.id)
        writing = self._writing is not None and not self._writing.done()  # it takes this one too
        if self._timer is None and not writing:
            self._timer = asyncio.get_running_loop().call_later(self._delay, self._start_write)

    async def settle(self) -> None:
        """Write every pending mark now, and wait for a write under way (the recovery sweep before its
        next read; the service's stop)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._write()
        if self._writing is not None:
            await self._writing  # one under way

    def _start_write(self) -> None:
        self._timer = None
        self._writing = asyncio.create_task(self._write(), name="published-marks")

    async def _write(self) -> None:
        while self._pending:  # marks added during a write go out in the next round
            pending, self._pending = self._pending, {}
            for project_id, (at, message_ids) in pending.items():
                try:
                    await self._messages.mark_published(project_id, message_ids, at)
                except Exception as error:  # noqa: BLE001 - unmarked messages are posted again by the sweep
                    log.warning("marking %d messages published failed (%s)", len(message_ids), type(error).__name__)
