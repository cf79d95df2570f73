"""A service's handle on PostgreSQL.

psycopg2 is blocking, so work runs in a thread (`await db.run(fn)`), one
transaction per call (or autocommit, for reads and single writes); the event
loop never waits on the database. The work gets a Core `Connection`: the
repositories use SQLAlchemy Core only, and an ORM Session around the same
statements cost ~0.3 ms more CPU each. The threads
are the database's own (as many as the pool has connections), not asyncio's
shared default pool: other blocking work (password hashing, file reads) can
never queue database calls behind it. Statement parameters are kept out of
SQLAlchemy's exception text, since they are tenant data and errors get logged.

A pooled connection that sat idle for `ping_idle_seconds` is checked with a round
trip before it is handed out (PostgreSQL may have restarted meanwhile), and replaced
when the check fails; a connection in steady use is not: pinging at every checkout
(SQLAlchemy's pool_pre_ping) cost a round trip per transaction. A connection lost
under a transaction fails it as Unavailable, and SQLAlchemy then recycles the whole
pool.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from agentmesh_core.errors import Unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

PING_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "agentmesh_checked_in_at"


def sqlalchemy_url(url: str) -> str:
    """Accept plain postgresql:// URLs and pin the psycopg2 driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.removeprefix("postgres://")
    return url


class Database:
    """Engine plus a thread-offloaded unit of work."""

    def __init__(self, url: str, pool_size: int = 10, ping_idle_seconds: float = PING_IDLE_SECONDS) -> None:
        self.engine = create_engine(
            sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
        )
        _ping_when_idle(self.engine, ping_idle_seconds)
        # One thread per connection the pool may open, so no thread waits on the pool.
        self._executor = ThreadPoolExecutor(max_workers=2 * pool_size, thread_name_prefix="db")

    def run_sync(self, work: Callable[[Connection], T], transaction: bool = True) -> T:
        try:
            if transaction:
                with self.engine.begin() as connection:
                    return work(connection)
            with self.engine.connect() as connection:
                return _autocommitted(connection, work)
        except OperationalError as error:
            if getattr(error, "connection_invalidated", False) or error.orig is None or _is_connection_error(error):
                log.warning("database unavailable: %s", type(error.orig).__name__)
                raise Unavailable("database unavailable") from None
            raise

    async def run(self, work: Callable[[Connection], T], transaction: bool = True) -> T:
        """Run work(connection) in one transaction on one of the database's threads.

        `transaction=False`: each statement commits on its own (autocommit), for reads
        and for work of a single write. A transaction's BEGIN and COMMIT are round trips
        of their own (psycopg2 sends them apart from the statements), and each waits
        for the database and then for this process's GIL.
        """
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.run_sync, work, transaction)

    async def ping(self) -> bool:
        try:
            await self.run(lambda s: s.execute(text("SELECT 1")), transaction=False)
        except (Unavailable, DBAPIError):
            return False
        return True

    def dispose(self) -> None:
        """Close the pool's connections and stop the threads (queued work is dropped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()


def affected_rows(connection: Connection, statement: Executable) -> int:
    """Execute an UPDATE or DELETE and return how many rows it changed."""
    # Connection.execute is typed as returning Result; for DML it is a CursorResult (with rowcount).
    return cast("CursorResult[Any]", connection.execute(statement)).rowcount


def _autocommitted(connection: Connection, work: Callable[[Connection], T]) -> T:
    """work(connection) with the driver connection in autocommit, restored before the pool has it back.

    Set on the driver connection itself, as SQLAlchemy's own psycopg2 ping does: psycopg2
    only keeps the flag (no round trip), while SQLAlchemy's isolation_level execution
    option cost as much as a transaction.
    """
    driver = connection.connection.dbapi_connection
    assert driver is not None  # a connection just checked out
    driver.autocommit = True
    try:
        return work(connection)
    finally:
        if not driver.closed:  # a lost connection is discarded by the pool
            driver.autocommit = False


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection at checkout when it was idle `idle_seconds` or more; replace it if dead."""

    def checked_in(_dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
        entry.info[_CHECKED_IN_AT] = time.monotonic()

    def checked_out(dbapi_connection: Any, entry: ConnectionPoolEntry, _proxy: Any) -> None:
        since = entry.info.pop(_CHECKED_IN_AT, None)
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new, or in steady use
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            alive = False
            log.info("an idle pooled connection was lost (%s); replaced", type(error).__name__)
        if not alive:
            raise DisconnectionError  # the pool discards it and checks out a fresh connection

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


def _is_connection_error(error: OperationalError) -> bool:
    message = str(error.orig).lower()
    return any(word in message for word in ("connection", "could not connect", "server closed", "terminating"))
