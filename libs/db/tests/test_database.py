"""The pool's checks on a real PostgreSQL: an idle connection found dead is replaced, a busy one costs no ping."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DataError

from agentmesh_core.errors import Unavailable
from agentmesh_db.database import Database


def _backend_pid(database: Database) -> int:
    return database.run_sync(lambda connection: connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(database_url: str, pid: int) -> None:
    """End a server process from a pool of its own (as a PostgreSQL restart would end them all)."""
    other = Database(database_url, pool_size=1)
    try:
        other.run_sync(lambda connection: connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}))
    finally:
        other.dispose()


def _pings(database: Database) -> list[int]:
    """Counts the pings the dialect makes from now on."""
    pings = [0]
    dialect = database.engine.dialect
    do_ping = dialect.do_ping

    def counted(dbapi_connection):  # type: ignore[no-untyped-def]
        pings[0] += 1
        return do_ping(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def test_an_idle_connection_lost_meanwhile_is_replaced_before_it_is_used(database_url: str) -> None:
    database = Database(database_url, pool_size=1, ping_idle_seconds=0)
    try:
        first = _backend_pid(database)
        _terminate(database_url, first)
        pings = _pings(database)

        second = _backend_pid(database)  # no error: the dead connection was found and replaced

        assert second != first and pings[0] == 1
    finally:
        database.dispose()


def test_connections_in_steady_use_are_not_pinged(database_url: str) -> None:
    database = Database(database_url, pool_size=1, ping_idle_seconds=60)
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        _backend_pid(database)
        pings = _pings(database)
        for _ in range(5):
            _backend_pid(database)
        assert pings[0] == 0 and len(statements) == 6
    finally:
        database.dispose()


def test_a_connection_lost_under_use_fails_its_transaction_as_unavailable_then_the_pool_recovers(
    database_url: str,
) -> None:
    database = Database(database_url, pool_size=1, ping_idle_seconds=60)  # not idle long enough to be checked
    try:
        first = _backend_pid(database)
        _terminate(database_url, first)

        with pytest.raises(Unavailable):
            _backend_pid(database)
        assert _backend_pid(database) != first  # the lost connection was discarded
    finally:
        database.dispose()


def _autocommit(connection: Connection) -> bool:
    driver = connection.connection.dbapi_connection
    assert driver is not None
    return bool(driver.autocommit)


def test_work_without_a_transaction_commits_each_statement_and_the_pool_gets_its_connection_back_transactional(
    database_url: str,
) -> None:
    database = Database(database_url, pool_size=1, ping_idle_seconds=0)  # every checkout pings first
    try:
        database.run_sync(lambda connection: connection.execute(text("CREATE TABLE notes (body text)")))

        def two_writes_the_second_failing(connection: Connection) -> None:
            connection.execute(text("INSERT INTO notes VALUES ('first')"))
            connection.execute(text("INSERT INTO notes VALUES (1 / 0)"))

        with pytest.raises(DataError):
            database.run_sync(two_writes_the_second_failing, transaction=False)  # the first write is kept
        with pytest.raises(DataError):
            database.run_sync(two_writes_the_second_failing)  # both are rolled back

        count = "SELECT count(*) FROM notes"
        assert database.run_sync(lambda connection: connection.execute(text(count)).scalar_one()) == 1
        assert database.run_sync(_autocommit, transaction=False)
        assert not database.run_sync(_autocommit)  # the same (only) connection, in transactions again
    finally:
        database.dispose()


def test_a_connection_lost_under_autocommitted_work_fails_it_as_unavailable_then_the_pool_recovers(
    database_url: str,
) -> None:
    database = Database(database_url, pool_size=1, ping_idle_seconds=60)
    pid = "SELECT pg_backend_pid()"
    try:
        first = _backend_pid(database)
        _terminate(database_url, first)

        with pytest.raises(Unavailable):
            database.run_sync(lambda connection: connection.execute(text(pid)).scalar_one(), transaction=False)
        assert _backend_pid(database) != first and not database.run_sync(_autocommit)
    finally:
        database.dispose()
