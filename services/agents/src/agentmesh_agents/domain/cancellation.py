"""Cancelling a message: its turn stops, in flight or parked, and so do the turns it delegated to.

The message's status becomes `cancelled` (final) and whatever its turn waited
for is dropped, in one transaction; a `cancelled` event follows. A turn running
in this process is told at once: its model call is aborted (the gRPC call is
cancelled, which aborts the request in the engine) and no further tool call
starts. A turn running on another replica reads its request before each tool
call, so it starts none either, and its reply is refused by the store (its
model call in flight there runs to its end). Delegations the message
made are cancelled the same way, down the tree; an agent that waited on a
cancelled message is told so, as an error observation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any, TypeVar

from agentmesh_agents.domain.delegation import Delegations
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.messaging import sender_of
from agentmesh_agents.domain.models import Message
from agentmesh_agents.domain.ports import MessageRepository, TurnRepository
from agentmesh_core.errors import FailedPrecondition, NotFound, PermissionDenied
from agentmesh_core.identity import Identity, ProjectRole, project_in_scope
from agentmesh_core.ids import parse_id

log = logging.getLogger(__name__)

T = TypeVar("T")


class TurnCancelled(Exception):
    """The turn's request was cancelled: stop now, record nothing more."""


class RunningTurns:
    """The turns this process is working on, each with the event that stops it."""

    def __init__(self) -> None:
        self._stops: dict[str, asyncio.Event] = {}

    @contextlib.contextmanager
    def running(self, message_id: str) -> Iterator[asyncio.Event]:
        """Register a turn for as long as it runs; the event is set when it is cancelled."""
        stop = self._stops.setdefault(message_id, asyncio.Event())
        try:
            yield stop
        finally:
            self._stops.pop(message_id, None)

    def stop(self, message_id: str) -> bool:
        """Tell a running turn to stop; False when it does not run here."""
        stop = self._stops.get(message_id)
        if stop is None:
            return False
        stop.set()
        return True


async def unless_stopped(stop: asyncio.Event, work: asyncio.Future[T]) -> T:
    """The work's result, or TurnCancelled (and the work cancelled) once `stop` is set."""
    if stop.is_set():
        work.cancel()
        raise TurnCancelled
    stopping = asyncio.ensure_future(stop.wait())
    either: list[asyncio.Future[Any]] = [work, stopping]
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        work.cancel()  # the caller gave up (a timeout, a shutdown): so does the work
        raise
    finally:
        stopping.cancel()
    if not work.done():
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        raise TurnCancelled
    return work.result()


class Cancellation:
    """CancelMessage: the sender or a project admin stops a message and what it delegated."""

    def __init__(
        self,
        messages: MessageRepository,
        turns: TurnRepository,
        events: EventPublisher,
        delegations: Delegations,
        running: RunningTurns,
    ) -> None:
        self._messages = messages
        self._turns = turns
        self._events = events
        self._delegations = delegations
        self._running = running

    async def cancel(self, identity: Identity, project_id: str, message_id: str) -> Message:
        """Cancel a message that is not final yet (409 once it is); members who did not send it: 403."""
        project_id = project_in_scope(identity, project_id)
        message_id = parse_id(message_id, "message_id")
        message = await self._messages.get(project_id, message_id)
        if message is None:
            raise NotFound("message not found")
        if message.sender != sender_of(identity) and not _is_admin(identity):
            raise PermissionDenied("only the sender or a project admin may cancel a message")
        if message.status.is_final:
            raise FailedPrecondition(f"the message is already {message.status.value}")
        cancelled = await self.stop(message)
        if cancelled is None:
            raise FailedPrecondition("the message finished meanwhile")
        await self._delegations.settled(cancelled)
        log.info("message %s cancelled by %s", message_id, identity.subject)
        return cancelled

    async def stop(self, message: Message) -> Message | None:
        """Cancel a message and, down the tree, what it delegated; None when it was already final."""
        cancelled = await self._turns.cancel(message.project_id, message.id)
        if cancelled is None:
            return None
        self._running.stop(message.id)
        await self._events.cancelled(cancelled, cancelled.receiver.id)
        # Depth-bounded: delegation chains are at most delegation_max_depth long.
        for delegated in await self._messages.delegated_from(message.project_id, message.id):
            await self.stop(delegated)
        return cancelled


def _is_admin(identity: Identity) -> bool:
    return identity.is_privileged or identity.project_role is ProjectRole.ADMIN
