"""The stream tickets table (schema `gateway`, revision 0004); on the accounts MetaData."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table
from sqlalchemy.dialects.postgresql import UUID

from agentmesh_gateway.adapters.tables import metadata, sessions, users

# A ticket by the SHA-256 of its value (the value is never stored). Redeeming deletes
# the row, so a ticket works once, on whichever replica sees it first.
stream_tickets = Table(
    "stream_tickets",
    metadata,
    Column("ticket_hash", String(64), primary_key=True),
    Column("user_id", UUID(as_uuid=False), ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False),
    Column("session_id", UUID(as_uuid=False), ForeignKey(sessions.c.id, ondelete="CASCADE"), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_stream_tickets_expires", "expires_at"),
)
