"""POST /auth/stream-ticket: a single-use ticket for EventSource and WebSocket (`?ticket=`)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agentmesh_gateway.stream_access import BearerCaller, TicketsDep

router = APIRouter(prefix="/auth", tags=["auth"])


class StreamTicketOut(BaseModel):
    """A ticket for one stream: used once, within expires_in seconds, by the user who asked."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ticket": "kq3V0c0Yc1mWJ9fW6tq8bXoU2q3mC4d6r0rS8cJ3y1A", "expires_in": 60}]}
    )

    ticket: str = Field(description="pass as ?ticket= to the events stream or the WebSocket")
    expires_in: int = Field(description="seconds until the ticket expires unused")


@router.post("/stream-ticket", response_model=StreamTicketOut, summary="Get a single-use stream ticket")
async def create_stream_ticket(caller: BearerCaller, tickets: TicketsDep) -> StreamTicketOut:
    """A ticket bound to the caller's user and session, for `EventSource` and `WebSocket`,
    which cannot send an Authorization header (tokens never go in URLs)."""
    return StreamTicketOut(ticket=await tickets.issue(caller), expires_in=tickets.ttl_seconds)
