"""Running a fetched batch of mailbox deliveries: in order per agent, agents in parallel.

A partition's worker fetches a batch, hands it here and fetches again only when
the batch is settled, so an agent's messages are never processed concurrently
or out of the order the mailbox gave them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from agentmesh_agents.domain.processor import Delivery, Outcome

log = logging.getLogger(__name__)


class InboxItem(Protocol):
    """One delivered mailbox message, as the runtime's transport presents it."""

    delivery: Delivery

    async def settle(self, outcome: Outcome) -> None:
        """Acknowledge the message, or hand it back for redelivery after outcome.delay."""

    async def heartbeat(self) -> None:
        """Tell the transport the message is still being worked on."""


class Processor(Protocol):
    """What processes one delivery (a MessageProcessor, or one wrapped to observe it)."""

    async def process(self, delivery: Delivery) -> Outcome:
        """Handle one delivery and say what to tell the mailbox."""
        ...


class LaneRunner:
    """Processes batches with one sequential lane per agent."""

    def __init__(self, processor: Processor, heartbeat_seconds: float) -> None:
        self._processor = processor
        self._heartbeat_seconds = heartbeat_seconds

    async def run_batch(self, items: Sequence[InboxItem]) -> None:
        """Settle every item of a batch; returns when all lanes are done."""
        lanes: dict[tuple[str, str], list[InboxItem]] = {}
        for item in items:
            lanes.setdefault((item.delivery.project_id, item.delivery.agent_id), []).append(item)
        await asyncio.gather(*(self._run_lane(lane) for lane in lanes.values()))

    async def _run_lane(self, lane: list[InboxItem]) -> None:
        for index, item in enumerate(lane):
            outcome = await self._process(item)
            await self._settle(item, outcome)
            if not outcome.done:
                # Keep the agent's order: what came after a message that must wait, waits too.
                for later in lane[index + 1 :]:
                    await self._settle(later, Outcome.retry(outcome.delay))
                return

    async def _process(self, item: InboxItem) -> Outcome:
        beating = asyncio.create_task(self._beat(item))
        try:
            return await self._processor.process(item.delivery)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _beat(self, item: InboxItem) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            try:
                await item.heartbeat()
            except Exception as error:  # noqa: BLE001 - a missed heartbeat only risks a redelivery
                log.warning("mailbox heartbeat failed (%s)", type(error).__name__)

    @staticmethod
    async def _settle(item: InboxItem, outcome: Outcome) -> None:
        try:
            await item.settle(outcome)
        except Exception as error:  # noqa: BLE001 - an unsettled message is redelivered and skipped then
            log.warning(
                "could not settle message %s (%s); it will be redelivered",
                item.delivery.message_id,
                type(error).__name__,
            )
