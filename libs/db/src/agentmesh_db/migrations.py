"""Runs a service's Alembic migrations from code, no alembic.ini or env.py.

Each service owns one PostgreSQL schema and keeps its alembic_version table in
it, so services migrate independently against the same database.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)


def upgrade_to_head(engine: Engine, migrations_dir: Path, schema: str) -> None:
    """Create the schema if needed and apply every pending revision.

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
