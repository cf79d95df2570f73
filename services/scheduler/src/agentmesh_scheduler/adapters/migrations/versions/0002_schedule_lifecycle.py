"""Schedules get a policy (overlap, catch-up window), a revision, and a log of recent runs.

Revision ID: 0002_schedule_lifecycle
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_schedule_lifecycle"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

SCHEMA = "scheduler"


def upgrade() -> None:
    op.add_column(
        "schedules", sa.Column("overlap_policy", sa.Text(), nullable=False, server_default="skip"), schema=SCHEMA
    )
    op.add_column(
        "schedules",
        sa.Column("catchup_window_seconds", sa.Integer(), nullable=False, server_default="3600"),
        schema=SCHEMA,
    )
    op.add_column(
        "schedules", sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"), schema=SCHEMA
    )
    op.create_table(
        "schedule_runs",
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("run_key", sa.Text(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "run_key", name="schedule_runs_pkey"),
        sa.ForeignKeyConstraint(
            ["schedule_id"], [f"{SCHEMA}.schedules.id"], name="schedule_runs_schedule_fkey", ondelete="CASCADE"
        ),
        schema=SCHEMA,
    )
    op.create_index("schedule_runs_recent", "schedule_runs", ["schedule_id", "ran_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("schedule_runs_recent", table_name="schedule_runs", schema=SCHEMA)
    op.drop_table("schedule_runs", schema=SCHEMA)
    for column in ("revision", "catchup_window_seconds", "overlap_policy"):
        op.drop_column("schedules", column, schema=SCHEMA)
