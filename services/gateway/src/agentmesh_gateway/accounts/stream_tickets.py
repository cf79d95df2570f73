"""Stream tickets: how a browser's EventSource or WebSocket authenticates.

Neither can send an Authorization header, and a token in a URL ends up in logs
and histories. So a client with a bearer token asks POST /auth/stream-ticket for
a ticket: random, single use, short-lived (60 s by default) and bound to the user
and session that asked. The stream then presents it as `?ticket=`; redeeming it
deletes it, so a URL that leaks afterwards is worth nothing.

Tickets are rows in the gateway's PostgreSQL rather than signed values: single
use needs a record of use that every replica sees, and once that record exists a
random value is simpler than a signature (and a revoked session takes its
unredeemed tickets with it, by foreign key).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from agentmesh_core.errors import NotFound, Unauthenticated
from agentmesh_gateway.accounts.models import User
from agentmesh_gateway.accounts.ports import SessionStore

# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
MAX_TICKET_LENGTH = 128


class TicketStore(Protocol):
    """Issued tickets by hash; take() removes one, so each is redeemed at most once."""

    async def add(
        self, ticket_hash: str, user_id: str, session_id: str, expires_at: datetime, now: datetime
    ) -> None: ...

    async def take(self, ticket_hash: str, now: datetime) -> tuple[str, str] | None:
        """(user id, session id) of an unexpired ticket, which is gone afterwards; None otherwise."""
        ...


@dataclass(frozen=True)
class StreamCaller:
    """Who opened a long-lived stream, and with which login session."""

    user: User
    session_id: str


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class StreamTickets:
    """Issue and redeem tickets; re-check a stream's caller while it stays open."""

    def __init__(self, store: TicketStore, sessions: SessionStore, ttl_seconds: int = 60) -> None:
        self._store = store
        self._sessions = sessions
        self.ttl_seconds = ttl_seconds

    async def issue(self, caller: StreamCaller) -> str:
        """A new ticket for the caller's user and session."""
        ticket = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        await self._store.add(
            _hash(ticket), caller.user.id, caller.session_id, now + timedelta(seconds=self.ttl_seconds), now
        )
        return ticket

    async def redeem(self, ticket: str) -> StreamCaller:
        """The caller a ticket was issued to, if it is unused, unexpired and its session live."""
        if not ticket or len(ticket) > MAX_TICKET_LENGTH or not ticket.isascii():
            raise Unauthenticated("invalid stream ticket")
        taken = await self._store.take(_hash(ticket), datetime.now(UTC))
        if taken is None:
            raise Unauthenticated("invalid stream ticket")
        return await self.current(*taken)

    async def current(self, user_id: str, session_id: str) -> StreamCaller:
        """The caller as stored now; Unauthenticated once the user is inactive or the session revoked."""
        found = await self._sessions.user_in_session(user_id, session_id)
        if found is None or not found[0].is_active or not found[1]:
            raise Unauthenticated("session ended")
        return StreamCaller(found[0], session_id)


class ProjectAccess(Protocol):
    """The one membership rule (Accounts.project_for)."""

    async def project_for(self, user: User, project_id: str) -> tuple[object, object]: ...


async def still_allowed(tickets: StreamTickets, accounts: ProjectAccess, caller: StreamCaller, project_id: str) -> bool:
    """Whether the caller may still watch the project: session live, user active, still a member."""
    try:
        current = await tickets.current(caller.user.id, caller.session_id)
        await accounts.project_for(current.user, project_id)
    except (Unauthenticated, NotFound):
        return False
    return True
