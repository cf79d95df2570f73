"""Migrated test databases in milliseconds: migrate once per session, clone per test.

Running a service's Alembic migrations costs a test a few hundred milliseconds
to seconds; `CREATE DATABASE x TEMPLATE t` copies a small database in about the
time an empty one takes to create. So each schema set is migrated once into a
template database, which is then frozen (no connections allowed) and cloned.

This lib never imports a service: the caller passes `build(url)`, which runs the
service's own migrations (the service's start-up migration then finds its schema
at head and does nothing, exactly as on a restart).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg2
from psycopg2 import sql

from agentmesh_devstack.infra import EmbeddedPostgres

log = logging.getLogger(__name__)

Build = Callable[[str], None]


def migrations(migrations_dir: Path, schema: str) -> Build:
    """A build that brings `schema` to head with a service's own Alembic revisions."""

    def build(url: str) -> None:
        # Imported here: SQLAlchemy and Alembic cost every pytest run (the plugin loads this module) ~1 s.
        from agentmesh_db.database import Database
        from agentmesh_db.migrations import upgrade_to_head

        database = Database(url, pool_size=1)
        try:
            upgrade_to_head(database.engine, migrations_dir, schema)
        finally:
            database.dispose()

    return build


def relax_durability(server: EmbeddedPostgres) -> None:
    """For a throwaway test server only: no fsync, no full-page writes, asynchronous commit.

    Crash safety means nothing for a temp dir, and without it CREATE DATABASE (an
    empty one or a clone) takes ~30 ms here instead of ~100-250 ms.
    """
    conn = psycopg2.connect(server.database_url("postgres"))
    try:
        conn.autocommit = True  # ALTER SYSTEM refuses to run inside a transaction
        with conn.cursor() as cur:
            for setting in ("fsync", "full_page_writes", "synchronous_commit"):
                cur.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
            cur.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()


class DatabaseTemplates:
    """Template databases on one PostgreSQL server, each built at most once."""

    def __init__(self, server: EmbeddedPostgres) -> None:
        self._server = server
        self._built: set[str] = set()
        self._lock = threading.Lock()

    def _execute(self, *statements: sql.Composable) -> None:
        conn = psycopg2.connect(self._server.database_url("postgres"))
        try:
            conn.autocommit = True  # CREATE/ALTER DATABASE refuse to run inside a transaction
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def _build(self, template: str, build: Build) -> None:
        name = sql.Identifier(template)
        url = self._server.database_url(template)
        try:
            build(url)
        except BaseException:
            self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            raise
        self._execute(
            # A connection left open by build() would make every clone fail ("being accessed by other users").
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(name),
            sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {}").format(
                sql.Literal(template)
            ),
        )
        log.info("built template database %s", template)

    def clone(self, name: str, build: Build) -> str:
        """URL of a new database copied from template `name`; `build(url)` fills the template on first use."""
        template = f"tmpl_{name}"
        with self._lock:
            if template not in self._built:
                self._build(template, build)
                self._built.add(template)
        database = f"t_{name}_{uuid.uuid4().hex[:12]}"
        self._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(database), sql.Identifier(template))
        )
        return self._server.database_url(database)
