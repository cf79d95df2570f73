"""The memory service's tables, in its own PostgreSQL schema (mirrors the migrations)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "memory"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

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
    Index("entries_project_created", "project_id", "created_at", "seq"),
    Index("entries_project_agent_created", "project_id", "agent_id", "created_at", "seq"),
)
