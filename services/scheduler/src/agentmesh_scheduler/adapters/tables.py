"""The scheduler's tables, in its own PostgreSQL schema (mirrors the migrations)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "scheduler"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

metadata = MetaData(schema=SCHEMA)

schedules = Table(
    "schedules",
    metadata,
    Column("id", Uuid(as_uuid=False), primary_key=True),
    Column("project_id", Uuid(as_uuid=False), nullable=False),
    Column("agent_id", Uuid(as_uuid=False), nullable=False),
    Column("cron", Text, nullable=True),
    Column("interval_seconds", BigInteger, nullable=True),
    Column("run_at", DateTime(timezone=True), nullable=True),
    Column("time_zone", Text, nullable=False),
    Column("payload", JSONB(none_as_null=True), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("temporal_schedule_id", Text, nullable=False),
    Column("last_run_at", DateTime(timezone=True), nullable=True),
    Column("last_run_outcome", Text, nullable=True),
    Column("next_run_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("temporal_schedule_id", name="schedules_temporal_schedule_id_key"),
    CheckConstraint("num_nonnulls(cron, interval_seconds, run_at) = 1", name="schedules_one_trigger"),
    CheckConstraint("interval_seconds IS NULL OR interval_seconds >= 1", name="schedules_interval_positive"),
    Index("schedules_project_created", "project_id", "created_at", "id"),
)
