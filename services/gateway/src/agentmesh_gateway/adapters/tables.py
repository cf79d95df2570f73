"""Table definitions of the gateway schema; its revisions in migrations/versions are applied
at start-up from MIGRATIONS_DIR into SCHEMA."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, MetaData, String, Table, Text
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

# A login session: its access tokens name it (claim `sid`) and die with it; its
# refresh tokens rotate within it. Logout, a password change or a deactivation
# sets revoked_at; expires_at follows the newest refresh token.
sessions = Table(
    "sessions",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("user_id", UUID(as_uuid=False), ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_sessions_user", "user_id"),
)

# Refresh tokens by the SHA-256 of their value (the value itself is never stored).
# used_at is set when one is exchanged: presenting it again is reuse.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", UUID(as_uuid=False), ForeignKey(sessions.c.id, ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("ix_refresh_tokens_session", "session_id"),
)
