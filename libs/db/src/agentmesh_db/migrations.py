"""Runs a service's Alembic migrations from code, no alembic.ini or env.py.

Each service owns one PostgreSQL schema and keeps its alembic_version table in
it, so services migrate independently against the same database.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from agentmesh_core.errors import Unavailable
from agentmesh_core.startup import wait_for
from agentmesh_db.database import Database

log = logging.getLogger(__name__)


async def migrate(
    database: Database,
    migrations_dir: Path,
    schema: str,
    *,
    stop: asyncio.Event | None = None,
    timeout: float | None = None,
) -> None:
    """Wait until PostgreSQL accepts connections, then bring `schema` to head.

    The wait backs off exponentially; it raises agentmesh_core.startup.Stopped
    when stop is set and TimeoutError after `timeout` seconds (None: forever).
    """

    async def reachable() -> None:
        if not await database.ping():
            raise Unavailable("database unavailable")

    await wait_for("the database", reachable, stop or asyncio.Event(), timeout=timeout)
    await asyncio.to_thread(upgrade_to_head, database.engine, migrations_dir, schema)


def upgrade_to_head(engine: Engine, migrations_dir: Path, schema: str) -> None:
    """Create the schema if needed and apply every pending revision (blocking).

    migrations_dir holds a `versions/` folder of revision files. An advisory
    lock keyed on the schema stops two replicas migrating at once.
    """
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    script = ScriptDirectory(str(migrations_dir))

    def upgrade(heads: tuple[str, ...], _context: MigrationContext) -> list[RevisionStep]:
        # Alembic passes the current heads as a tuple (as its own `upgrade` command does),
        # though _upgrade_revs declares a str.
        return script._upgrade_revs("head", heads)  # type: ignore[arg-type]

    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"migrate:{schema}"})
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        with EnvironmentContext(config, script, fn=upgrade, destination_rev="head") as env:
            env.configure(connection=connection, version_table_schema=schema, transactional_ddl=True)
            env.run_migrations()
    log.info("database schema %s is at head", schema)
