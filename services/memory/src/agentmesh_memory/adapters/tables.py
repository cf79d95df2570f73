"""The memory service's tables, in its own PostgreSQL schema (mirrors the migrations)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, MetaData, Table, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "memory"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PENDING = "pending"
READY = "ready"

metadata = MetaData(schema=SCHEMA)

entries = Table(
    "entries",
    metadata,
    Column("id", Uuid(as_uuid=False), primary_key=True),
    # Insertion order: breaks ties between entries stored in the same call.
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("project_id", Uuid(as_uuid=False), nullable=False),
    Column("agent_id", Uuid(as_uuid=False), nullable=True),
    Column("content", Text, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("embedding_model", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # PENDING until the entry's vector is stored, then READY; only READY entries are shown.
    Column("state", Text, nullable=False, server_default=READY),
    # The add's idempotency key (every entry of a keyed add carries it).
    Column("idempotency_key", Text, nullable=True),
    Index("entries_project_created", "project_id", "created_at", "seq"),
    Index("entries_project_agent_created", "project_id", "agent_id", "created_at", "seq"),
    Index("entries_pending_created", "created_at", postgresql_where=text("state = 'pending'")),
    Index("entries_project_key", "project_id", "idempotency_key", postgresql_where=text("idempotency_key IS NOT NULL")),
)

# One row per idempotency key used in a project: claimed in the transaction that writes the add's entries.
add_keys = Table(
    "add_keys",
    metadata,
    Column("project_id", Uuid(as_uuid=False), primary_key=True),
    Column("idempotency_key", Text, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
