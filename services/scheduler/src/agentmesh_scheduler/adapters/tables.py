"""The scheduler's tables, in its own PostgreSQL schema (mirrors the migrations)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
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
    # A message schedule's agent; NULL for a job schedule (whose template is in job).
    Column("agent_id", Uuid(as_uuid=False), nullable=True),
    Column("cron", Text, nullable=True),
    Column("interval_seconds", BigInteger, nullable=True),
    Column("run_at", DateTime(timezone=True), nullable=True),
    Column("time_zone", Text, nullable=False),
    Column("payload", JSONB(none_as_null=True), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("temporal_schedule_id", Text, nullable=False),
    Column("last_run_at", DateTime(timezone=True), nullable=True),
    Column("last_run_outcome", Text, nullable=True),
    Column("next_run_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("overlap_policy", Text, nullable=False, server_default="skip"),
    Column("catchup_window_seconds", Integer, nullable=False, server_default="3600"),
    Column("revision", BigInteger, nullable=False, server_default="0"),
    Column("job", JSONB(none_as_null=True), nullable=True),
    UniqueConstraint("temporal_schedule_id", name="schedules_temporal_schedule_id_key"),
    CheckConstraint("num_nonnulls(cron, interval_seconds, run_at) = 1", name="schedules_one_trigger"),
    CheckConstraint("num_nonnulls(agent_id, job) = 1", name="schedules_one_target"),
    CheckConstraint("interval_seconds IS NULL OR interval_seconds >= 1", name="schedules_interval_positive"),
    Index("schedules_project_created", "project_id", "created_at", "id"),
)

# The latest runs of each schedule (run_key: the run's workflow id, so a retried
# record is stored once); older ones are pruned as new ones come.
schedule_runs = Table(
    "schedule_runs",
    metadata,
    Column(
        "schedule_id", Uuid(as_uuid=False), ForeignKey(f"{SCHEMA}.schedules.id", ondelete="CASCADE"), nullable=False
    ),
    Column("run_key", Text, nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
    PrimaryKeyConstraint("schedule_id", "run_key", name="schedule_runs_pkey"),
    Index("schedule_runs_recent", "schedule_id", "ran_at"),
)

# A multi-step job: one row, and one row per step (written by the job's workflow).
jobs = Table(
    "jobs",
    metadata,
    Column("id", Uuid(as_uuid=False), primary_key=True),
    Column("project_id", Uuid(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("workflow_id", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False, server_default=""),
    Column("error", Text, nullable=True),
    Column("failed_step_id", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    # The sequence number of the last workflow report applied (older ones are ignored).
    Column("seq", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("workflow_id", name="jobs_workflow_id_key"),
    Index("jobs_project_created", "project_id", "created_at", "id"),
    Index(
        "jobs_project_idempotency_key",
        "project_id",
        "idempotency_key",
        unique=True,
        postgresql_where=text("idempotency_key <> ''"),
    ),
    Index("jobs_pending", "status", postgresql_where=text("status = 'pending'")),
)

job_steps = Table(
    "job_steps",
    metadata,
    Column("job_id", Uuid(as_uuid=False), ForeignKey(f"{SCHEMA}.jobs.id", ondelete="CASCADE"), nullable=False),
    Column("step_id", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("agent_id", Uuid(as_uuid=False), nullable=False),
    Column("input", JSONB(none_as_null=True), nullable=False),
    Column("depends_on", JSONB, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("backoff_seconds", Float, nullable=False),
    Column("timeout_seconds", Float, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("output", JSONB(none_as_null=True), nullable=True),
    Column("error", Text, nullable=True),
    Column("sent_input", JSONB(none_as_null=True), nullable=True),
    Column("message_id", Text, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("seq", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("job_id", "step_id", name="job_steps_pkey"),
)
