"""Table definitions of the gateway schema; its revisions in migrations/versions are applied
at start-up from MIGRATIONS_DIR into SCHEMA."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, MetaData, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

SCHEMA = "gateway"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
metadata = MetaData(schema=SCHEMA)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login", DateTime(timezone=True)),
)

projects = Table(
    "projects",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("owner_id", UUID(as_uuid=False), ForeignKey(users.c.id, ondelete="SET NULL")),
    Column("settings", JSONB, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

project_members = Table(
    "project_members",
    metadata,
    Column("project_id", UUID(as_uuid=False), ForeignKey(projects.c.id, ondelete="CASCADE"), primary_key=True),
    Column("user_id", UUID(as_uuid=False), ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
