"""Running a fetched batch of mailbox deliveries: in order per agent, agents in parallel.

A partition's worker fetches a batch, hands it here and fetches again only when
the batch is settled, so an agent's messages are never processed concurrently
or out of the order the mailbox gave them. A message that waits behind an earlier
one of its agent which is further down the same lane (an earlier message posted
again, e.g. a woken turn) is taken after it, in the same batch, at no delivery's cost.
Every unsettled message of a lane gets heartbeats, not only the one in progress, so
a short ack wait only hands back the messages of a runtime that is gone.
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
        pending = list(lane)  # unsettled, in the order they are taken
        beating = asyncio.create_task(self._beat(pending))
        try:
            await self._take(pending)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _take(self, pending: list[InboxItem]) -> None:
        while pending:
            item = pending[0]
            outcome = await self._processor.process(item.delivery)
            if outcome.earlier_id is not None:
                ahead = _position(pending, outcome.earlier_id)
                if ahead is not None:
                    # The message it waits for is further down this lane: take that one first.
                    pending.insert(ahead, pending.pop(0))  # right after it (it moved up by one)
                    continue
                # Held by a message outside this batch: hand it back; the rest of the lane goes on
                # (each later message checks its own order).
                pending.pop(0)
                await self._settle(item, outcome)
                continue
            pending.pop(0)
            await self._settle(item, outcome)
            if not outcome.done:
                # Keep the agent's order: what came after a message that must wait, waits too.
                while pending:
                    await self._settle(pending.pop(0), Outcome.retry(outcome.delay))

    async def _beat(self, pending: list[InboxItem]) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            for item in list(pending):
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


def _position(pending: Sequence[InboxItem], message_id: str) -> int | None:
    for index, item in enumerate(pending):
        if item.delivery.message_id == message_id:
            return index
    return None
