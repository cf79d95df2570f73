"""The scheduler schema: one row per schedule.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "scheduler"


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("cron", sa.Text(), nullable=True),
        sa.Column("interval_seconds", sa.BigInteger(), nullable=True),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("temporal_schedule_id", sa.Text(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_outcome", sa.Text(), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("temporal_schedule_id", name="schedules_temporal_schedule_id_key"),
        sa.CheckConstraint("num_nonnulls(cron, interval_seconds, run_at) = 1", name="schedules_one_trigger"),
        sa.CheckConstraint("interval_seconds IS NULL OR interval_seconds >= 1", name="schedules_interval_positive"),
        schema=SCHEMA,
    )
    op.create_index("schedules_project_created", "schedules", ["project_id", "created_at", "id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("schedules_project_created", table_name="schedules", schema=SCHEMA)
    op.drop_table("schedules", schema=SCHEMA)
