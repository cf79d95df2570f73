"""Who a long-lived stream (SSE, WebSocket) belongs to, and the watch that ends it
when that caller loses access.

A stream authenticates once, by bearer token or single-use ticket
(accounts/stream_tickets.py). An open stream can outlive a membership, a session
or an account, so AccessWatch re-reads them every few seconds (two indexed
queries) and returns once the caller may no longer watch the project.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from agentmesh_core.errors import Unauthenticated
from agentmesh_gateway.access_log import record_user
from agentmesh_gateway.accounts.service import Accounts
from agentmesh_gateway.accounts.stream_tickets import MAX_TICKET_LENGTH, StreamCaller, StreamTickets, still_allowed
from agentmesh_gateway.deps import BearerToken, ProjectScope, wired

log = logging.getLogger(__name__)


async def get_tickets(request: Request) -> StreamTickets:
    return wired(request).stream_tickets


TicketsDep = Annotated[StreamTickets, Depends(get_tickets)]
TicketParam = Annotated[
    str | None,
    Query(max_length=MAX_TICKET_LENGTH, description="single-use ticket from POST /auth/stream-ticket (EventSource)"),
]


async def caller_from(
    accounts: Accounts, tickets: StreamTickets, token: str | None, ticket: str | None
) -> StreamCaller:
    """The caller of a ticket, else of a bearer token; Unauthenticated without either."""
    if ticket is not None:
        return await tickets.redeem(ticket)
    if token:
        user = await accounts.authenticate(token)
        return StreamCaller(user, accounts.session_of(token))
    raise Unauthenticated("missing bearer token or stream ticket")


async def bearer_caller(request: Request, token: BearerToken) -> StreamCaller:
    """The caller of a bearer token, with its session (a ticket cannot mint another)."""
    state = wired(request)
    caller = await caller_from(state.accounts, state.stream_tickets, token, None)
    record_user(request.scope.get("state"), caller.user.id)
    return caller


async def stream_caller(request: Request, token: BearerToken, ticket: TicketParam = None) -> StreamCaller:
    """The caller of a stream request: `?ticket=` or the bearer token."""
    state = wired(request)
    caller = await caller_from(state.accounts, state.stream_tickets, token, ticket)
    record_user(request.scope.get("state"), caller.user.id)
    return caller


BearerCaller = Annotated[StreamCaller, Depends(bearer_caller)]
StreamCallerDep = Annotated[StreamCaller, Depends(stream_caller)]


@dataclass(frozen=True)
class StreamScope:
    """A project scope with the caller's session, so the stream can be re-checked."""

    scope: ProjectScope
    caller: StreamCaller


async def stream_scope(request: Request, project_id: str, caller: StreamCallerDep) -> StreamScope:
    """Members (and superadmins) only; anyone else gets 404, as for an unknown project."""
    project, role = await wired(request).accounts.project_for(caller.user, project_id)
    return StreamScope(ProjectScope(project, caller.user, role), caller)


StreamScopeDep = Annotated[StreamScope, Depends(stream_scope)]


class AccessWatch:
    """Re-checks a stream's caller every `interval` seconds; lost() returns once access is gone."""

    def __init__(
        self, accounts: Accounts, tickets: StreamTickets, caller: StreamCaller, project_id: str, interval: float
    ) -> None:
        self._accounts, self._tickets = accounts, tickets
        self._caller, self._project_id = caller, project_id
        self._interval = interval

    async def lost(self) -> None:
        """Return when the caller was removed, deactivated, demoted out, or their session ended."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                if not await still_allowed(self._tickets, self._accounts, self._caller, self._project_id):
                    log.info("stream of user %s on project %s ended: access lost", self._caller.user.id,
                             self._project_id)  # fmt: skip
                    return
            except Exception as error:  # noqa: BLE001 - a database blip does not cut every stream
                log.warning("stream access re-check failed, kept open: %s", type(error).__name__)
