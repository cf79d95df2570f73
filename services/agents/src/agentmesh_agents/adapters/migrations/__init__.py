"""Alembic revisions of the `agents` schema, applied at start-up by upgrade_to_head."""

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent
