"""Stream tickets in PostgreSQL: issued as rows, redeemed by deleting them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert

from agentmesh_db.database import Database
from agentmesh_gateway.adapters.ticket_tables import stream_tickets


class SqlStreamTicketStore:
    """Implements accounts.stream_tickets.TicketStore; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, ticket_hash: str, user_id: str, session_id: str, expires_at: datetime, now: datetime) -> None:
        def work(s: Connection) -> None:
            # Housekeeping: expired tickets nobody redeemed (the index makes this cheap).
            s.execute(delete(stream_tickets).where(stream_tickets.c.expires_at < now))
            s.execute(
                insert(stream_tickets).values(
                    ticket_hash=ticket_hash, user_id=user_id, session_id=session_id, expires_at=expires_at
                )
            )

        await self._db.run(work)

    async def take(self, ticket_hash: str, now: datetime) -> tuple[str, str] | None:
        # DELETE ... RETURNING is the single use: of two replicas redeeming at once, one gets the row.
        statement = (
            delete(stream_tickets)
            .where(stream_tickets.c.ticket_hash == ticket_hash)
            .returning(stream_tickets.c.user_id, stream_tickets.c.session_id, stream_tickets.c.expires_at)
        )

        def work(s: Connection) -> tuple[str, str] | None:
            row = s.execute(statement).first()
            if row is None or row.expires_at <= now:
                return None
            return row.user_id, row.session_id

        return await self._db.run(work, transaction=False)  # one statement
