"""The mailbox recovery sweep: post queued messages whose mailbox post failed or got lost.

SendMessage stores the row before posting, so a bus outage leaves rows
`queued` and unpublished. The sweep posts them again; the mailbox deduplicates
by message id and the runtime skips messages that are already final, so a post
too many is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agentmesh_agents.domain.approvals import Approvals
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.messaging import Messaging
from agentmesh_agents.domain.models import utcnow
from agentmesh_agents.domain.ports import MessageRepository
from agentmesh_core.aio import wait_set

log = logging.getLogger(__name__)


class MailboxRecovery:
    """Finds queued messages that never reached (or fell out of) a mailbox and posts them."""

    def __init__(
        self,
        messages: MessageRepository,
        messaging: Messaging,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
        approvals: Approvals | None = None,
    ) -> None:
        self._messages = messages
        self._messaging = messaging
        self._limits = limits
        self._clock = clock
        self._approvals = approvals

    async def sweep(self) -> int:
        """One pass; returns how many messages were posted."""
        await self._messaging.settle()  # the marks of recent posts, written before the read
        now = self._clock()
        due = await self._messages.due_for_publish(
            unpublished_before=now - timedelta(seconds=self._limits.recovery_min_age_seconds),
            published_before=now - timedelta(seconds=self._limits.recovery_stale_seconds),
            limit=self._limits.recovery_batch,
        )
        posted = 0
        for message in due:
            if not await self._messaging.post(message):
                break
            posted += 1
        await self._messaging.settle()  # and this sweep's own
        if due:
            log.info("mailbox recovery posted %d of %d queued messages", posted, len(due))
        return posted

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Sweep now and then every interval seconds until stop is set."""
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.warning("mailbox recovery sweep failed", exc_info=True)
            if self._approvals is not None:
                # Pending approvals whose time ran out end their parked turns (with a clear error).
                try:
                    await self._approvals.expire_due()
                except Exception:
                    log.warning("approval expiry sweep failed", exc_info=True)
            await wait_set(stop, interval)
