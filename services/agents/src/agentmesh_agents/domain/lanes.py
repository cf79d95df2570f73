"""Running mailbox deliveries: in order per agent, one at a time per agent, agents in parallel.

Deliveries are handed over as they are fetched (`submit`): each agent has a lane
that takes its messages one after the other, in the order the mailbox gave them,
while the lanes of other agents go on, so a busy agent never holds up the others
of its partition (no head-of-line blocking) and an agent's messages are never
processed concurrently. A lane lives while it has messages and ends with the last.

A message that waits behind an earlier one of its agent which is further down the
same lane (an earlier message posted again, e.g. a woken turn) is taken after it,
at no delivery's cost. Every unsettled message of a lane gets heartbeats, not only
the one in progress, so a short ack wait only hands back the messages of a runtime
that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(eq=False, slots=True)
class _Entry:
    """A submitted item and what its submitter waits on (done once the item is settled)."""

    item: InboxItem
    settled: asyncio.Future[None]


class LaneRunner:
    """One sequential lane per agent with messages in hand; lanes run concurrently."""

    def __init__(self, processor: Processor, heartbeat_seconds: float) -> None:
        self._processor = processor
        self._heartbeat_seconds = heartbeat_seconds
        self._lanes: dict[tuple[str, str], list[_Entry]] = {}  # agent -> its unsettled entries, in order
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, item: InboxItem) -> asyncio.Future[None]:
        """Queue an item at the end of its agent's lane; the future is done when the item is settled.

        The future is cancelled instead when the lanes are stopped first (the item is not settled).
        """
        key = (item.delivery.project_id, item.delivery.agent_id)
        entry = _Entry(item, asyncio.get_running_loop().create_future())
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(entry)  # its task takes it after the ones before it
        else:
            self._lanes[key] = lane = [entry]
            task = asyncio.create_task(self._run_lane(key, lane), name=f"lane-{key[1]}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return entry.settled

    async def run_batch(self, items: Sequence[InboxItem]) -> None:
        """Submit every item of a batch; returns when all are settled."""
        await asyncio.gather(*(self.submit(item) for item in items))

    async def stop(self) -> None:
        """Stop every lane now: the items not settled stay unsettled (their futures are cancelled)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_lane(self, key: tuple[str, str], lane: list[_Entry]) -> None:
        beating = asyncio.create_task(self._beat(lane))
        try:
            await self._take(lane)
        finally:
            # No await since the lane ran empty: a later submit starts a new lane.
            if self._lanes.get(key) is lane:
                del self._lanes[key]
            for entry in lane:
                entry.settled.cancel()
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _take(self, pending: list[_Entry]) -> None:
        while pending:
            entry = pending[0]
            outcome = await self._processor.process(entry.item.delivery)
            if outcome.earlier_id is not None:
                ahead = _position(pending, outcome.earlier_id)
                if ahead is not None:
                    # The message it waits for is further down this lane: take that one first.
                    pending.insert(ahead, pending.pop(0))  # right after it (it moved up by one)
                    continue
                # Held by a message not in this lane: hand it back; the rest of the lane goes on
                # (each later message checks its own order).
                await self._settle(pending.pop(0), outcome)
                continue
            await self._settle(pending.pop(0), outcome)
            if not outcome.done:
                # Keep the agent's order: what came after a message that must wait, waits too.
                while pending:
                    await self._settle(pending.pop(0), Outcome.retry(outcome.delay))

    async def _beat(self, pending: list[_Entry]) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            for entry in list(pending):
                try:
                    await entry.item.heartbeat()
                except Exception as error:  # noqa: BLE001 - a missed heartbeat only risks a redelivery
                    log.warning("mailbox heartbeat failed (%s)", type(error).__name__)

    @staticmethod
    async def _settle(entry: _Entry, outcome: Outcome) -> None:
        try:
            await entry.item.settle(outcome)
        except Exception as error:  # noqa: BLE001 - an unsettled message is redelivered and skipped then
            log.warning(
                "could not settle message %s (%s); it will be redelivered",
                entry.item.delivery.message_id,
                type(error).__name__,
            )
        finally:
            if not entry.settled.done():
                entry.settled.set_result(None)


def _position(pending: Sequence[_Entry], message_id: str) -> int | None:
    for index, entry in enumerate(pending):
        if entry.item.delivery.message_id == message_id:
            return index
    return None
