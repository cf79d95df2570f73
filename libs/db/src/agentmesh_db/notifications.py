"""PostgreSQL LISTEN/NOTIFY: announce a change in the transaction that makes it, hear it elsewhere.

`notify(connection, channel, payload)` queues a notification inside the caller's
transaction: PostgreSQL delivers it when (and only if) that transaction commits.

`Listener` holds one connection of its own (outside the pool, non-blocking, on
the event loop) that LISTENs on a channel and hands each payload to
`on_message`. Delivery is asynchronous: a listening backend forwards a
notification when the operating system next schedules it, which on a busy host
can be milliseconds after the commit. `sync()` closes that gap: it makes a round
trip on the listening connection, and PostgreSQL sends a backend's pending
notifications before it answers a query, so when `sync()` returns True every
notification committed before the call has been handed over. Concurrent callers
share round trips (each waits for the first one that starts after its call). A
call made while no round trip is on the wire sends its query at once, before it
returns: `begin_sync()` lets a caller start it early and await it when it needs
the answer, so that the round trip overlaps the caller's other work.

A notification sent while no connection listens is lost, so whenever the
listener stops listening (the connection fails, a round trip takes longer than
`timeout_seconds`, it is closed) it calls `on_reset`, and `listening` is False
(and `sync()` answers False) until it listens again: a cache fed by the listener
must drop everything then, and keep nothing while it is not listening. An idle
listener makes a round trip every `heartbeat_seconds`, so a dead connection is
noticed without a caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from psycopg2 import extensions
from sqlalchemy import Connection, func, select

from agentmesh_core.aio import wait_set
from agentmesh_db.database import Database

log = logging.getLogger(__name__)

# PostgreSQL refuses payloads of 8000 bytes or more.
MAX_PAYLOAD_BYTES = 7999


def notify(connection: Connection, channel: str, payload: str) -> None:
    """Queue a notification in connection's transaction; it is delivered on commit, never on rollback."""
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError("notification payload too long")
    connection.execute(select(func.pg_notify(channel, payload)))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Listener:
    """LISTEN on one channel with a non-blocking connection of its own; reconnects until closed."""

    def __init__(
        self,
        database: Database,
        channel: str,
        on_message: Callable[[str], None],
        on_reset: Callable[[], None],
        *,
        heartbeat_seconds: float = 5.0,
        timeout_seconds: float = 5.0,
        retry_seconds: float = 1.0,
    ) -> None:
        if not channel.isidentifier() or len(channel) > 63:
            raise ValueError("channel must be a plain identifier of at most 63 characters")
        self._database = database
        self._channel = channel
        self._on_message = on_message
        self._on_reset = on_reset
        self._heartbeat = heartbeat_seconds
        self._timeout = timeout_seconds
        self._retry = retry_seconds
        self._connection: Any = None
        self._cursor: Any = None
        self._listening = asyncio.Event()
        self._wake = asyncio.Event()
        self._next_round: asyncio.Future[bool] | None = None  # callers waiting for the next round trip to start
        self._on_wire: asyncio.Future[bool] | None = None  # callers of the round trip in flight
        self._answered: asyncio.Future[None] | None = None  # the round trip in flight
        self._task: asyncio.Task[None] | None = None

    @property
    def application_name(self) -> str:
        """How its connection is named in pg_stat_activity."""
        return f"listen {self._channel}"

    @property
    def listening(self) -> bool:
        """True while notifications reach on_message (none was missed since on_reset last ran)."""
        return self._listening.is_set()

    def start(self) -> None:
        """Start listening in the background (see wait_listening)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen-{self._channel}")

    async def wait_listening(self, timeout: float) -> bool:
        """Wait up to timeout seconds until it listens; whether it does."""
        return await wait_set(self._listening, timeout)

    async def sync(self) -> bool:
        """Hand over every notification committed before this call; False when that cannot be known."""
        return await asyncio.shield(self.begin_sync())

    def begin_sync(self) -> asyncio.Future[bool]:
        """What `sync()` awaits, started now: the first round trip that begins after this call.

        When none is on the wire, its query is sent before this returns. The future's
        result is False when the listener is not listening or stops before the answer.
        """
        loop = asyncio.get_running_loop()
        if not self.listening:
            refused: asyncio.Future[bool] = loop.create_future()
            refused.set_result(False)
            return refused
        if self._next_round is None:
            self._next_round = loop.create_future()
        waiting = self._next_round
        if self._answered is None:
            self._send_round()
        self._wake.set()
        return waiting

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._connect()
                self._listening.set()
                log.info("listening on %s", self._channel)
                await self._serve_rounds()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure means: reconnect
                log.warning("listening on %s stopped (%s); reconnecting", self._channel, type(error).__name__)
            finally:
                self._disconnect()
            await asyncio.sleep(self._retry)

    async def _connect(self) -> None:
        engine = self._database.engine
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs = {**kwargs, "application_name": self.application_name, "async_": 1}
        self._connection = engine.dialect.loaded_dbapi.connect(*args, **kwargs)
        async with asyncio.timeout(self._timeout):
            await self._poll_until_ok()
            self._cursor = self._connection.cursor()  # kept: psycopg2 needs it until the answer is in
            self._cursor.execute(f'LISTEN "{self._channel}"')
            await self._poll_until_ok()
        asyncio.get_running_loop().add_reader(self._connection.fileno(), self._readable)

    async def _poll_until_ok(self) -> None:
        """Drive the connection (connecting, or a command) until it is idle: before the reader exists."""
        loop = asyncio.get_running_loop()
        fd = self._connection.fileno()
        while (state := self._connection.poll()) != extensions.POLL_OK:
            ready = loop.create_future()
            watch, unwatch = (
                (loop.add_writer, loop.remove_writer)
                if state == extensions.POLL_WRITE
                else (loop.add_reader, loop.remove_reader)
            )
            watch(fd, _resolve, ready)
            try:
                await ready
            finally:
                unwatch(fd)
        self._hand_over()

    async def _serve_rounds(self) -> None:
        """One round trip at a time: sent by a caller, for those who called since the last began, or a heartbeat.

        The answer itself releases the round's callers (`_readable`); this bounds its wait
        and starts the next round for the callers who came while it was on the wire.
        """
        while True:
            await wait_set(self._wake, self._heartbeat)
            self._wake.clear()
            if not self.listening:
                raise ConnectionError("listener connection lost")
            if self._answered is None:
                self._send_round()
            answered, waiting = self._answered, self._on_wire
            assert answered is not None
            try:
                async with asyncio.timeout(self._timeout):
                    await answered
            except BaseException:
                if waiting is not None and not waiting.done():
                    waiting.set_result(False)
                raise
            finally:
                self._answered = self._on_wire = None
            if self._next_round is not None:
                self._wake.set()

    def _send_round(self) -> None:
        """Send a round trip's query; the callers waiting for the next round now wait for this one."""
        self._on_wire, self._next_round = self._next_round, None
        self._answered = asyncio.get_running_loop().create_future()
        try:
            self._cursor.execute("SELECT 1")
        except Exception as error:  # noqa: BLE001 - the connection is gone: _run reconnects
            self._lost(error)
            return
        self._readable()  # sends the query (a blocked send is finished by later polls)

    def _readable(self) -> None:
        try:
            state = self._connection.poll()
        except Exception as error:  # noqa: BLE001 - the connection is gone: _run reconnects
            self._lost(error)
            return
        self._hand_over()
        if state == extensions.POLL_WRITE:  # the query is not all sent yet: poll again once it can be
            loop = asyncio.get_running_loop()
            loop.add_writer(self._connection.fileno(), self._writable)
        elif state == extensions.POLL_OK and self._answered is not None and not self._answered.done():
            self._answered.set_result(None)
            if self._on_wire is not None and not self._on_wire.done():
                self._on_wire.set_result(True)  # released here: one wake-up sooner than by the round loop

    def _writable(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_writer(self._connection.fileno())
        self._readable()

    def _hand_over(self) -> None:
        notifies = self._connection.notifies
        while notifies:
            self._on_message(notifies.pop(0).payload)

    def _lost(self, error: Exception) -> None:
        self._stop_reading()
        if self._answered is not None and not self._answered.done():
            self._answered.set_exception(ConnectionError(f"listener connection lost: {type(error).__name__}"))
        self._wake.set()  # an idle round loop notices at once, so _run reconnects

    def _stop_reading(self) -> None:
        self._listening.clear()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                loop = asyncio.get_running_loop()
                loop.remove_reader(self._connection.fileno())
                loop.remove_writer(self._connection.fileno())

    def _disconnect(self) -> None:
        connected = self._connection is not None
        self._stop_reading()
        for waiting in (self._next_round, self._on_wire):
            if waiting is not None and not waiting.done():
                waiting.set_result(False)
        self._next_round = self._on_wire = None
        if self._answered is not None:  # a round trip sent but never awaited: the loss is handled here
            if self._answered.done() and not self._answered.cancelled():
                self._answered.exception()
            else:
                self._answered.cancel()
            self._answered = None
        if connected:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = self._cursor = None
            self._on_reset()
