"""Multi-step jobs: one row per job, one per step (the job's workflow writes their progress).

Revision ID: 0003_jobs
Revises: 0002_schedule_lifecycle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_jobs"
down_revision = "0002_schedule_lifecycle"
branch_labels = None
depends_on = None

SCHEMA = "scheduler"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("workflow_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False, server_default=""),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failed_step_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.UniqueConstraint("workflow_id", name="jobs_workflow_id_key"),
        schema=SCHEMA,
    )
    op.create_index("jobs_project_created", "jobs", ["project_id", "created_at", "id"], schema=SCHEMA)
    op.create_index(
        "jobs_project_idempotency_key",
        "jobs",
        ["project_id", "idempotency_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("idempotency_key <> ''"),
    )
    op.create_index("jobs_pending", "jobs", ["status"], schema=SCHEMA, postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "job_steps",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("input", postgresql.JSONB(), nullable=False),
        sa.Column("depends_on", postgresql.JSONB(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("backoff_seconds", sa.Float(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("output", postgresql.JSONB(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_input", postgresql.JSONB(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("job_id", "step_id", name="job_steps_pkey"),
        sa.ForeignKeyConstraint(["job_id"], [f"{SCHEMA}.jobs.id"], name="job_steps_job_fkey", ondelete="CASCADE"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("job_steps", schema=SCHEMA)
    op.drop_index("jobs_pending", table_name="jobs", schema=SCHEMA)
    op.drop_index("jobs_project_idempotency_key", table_name="jobs", schema=SCHEMA)
    op.drop_index("jobs_project_created", table_name="jobs", schema=SCHEMA)
    op.drop_table("jobs", schema=SCHEMA)
