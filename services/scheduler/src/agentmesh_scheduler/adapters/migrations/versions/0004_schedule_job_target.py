"""A schedule's target may be a job template: a nullable job column; agent_id and payload
become nullable, and exactly one of agent_id (a message) or job is set.

Revision ID: 0004_schedule_job_target
Revises: 0003_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_schedule_job_target"
down_revision = "0003_jobs"
branch_labels = None
depends_on = None

SCHEMA = "scheduler"


def upgrade() -> None:
    op.add_column("schedules", sa.Column("job", postgresql.JSONB(), nullable=True), schema=SCHEMA)
    op.alter_column("schedules", "agent_id", nullable=True, schema=SCHEMA)
    op.alter_column("schedules", "payload", nullable=True, schema=SCHEMA)
    op.create_check_constraint("schedules_one_target", "schedules", "num_nonnulls(agent_id, job) = 1", schema=SCHEMA)


def downgrade() -> None:
    op.execute(f"DELETE FROM {SCHEMA}.schedules WHERE job IS NOT NULL")
    op.drop_constraint("schedules_one_target", "schedules", schema=SCHEMA)
    op.alter_column("schedules", "payload", nullable=False, schema=SCHEMA)
    op.alter_column("schedules", "agent_id", nullable=False, schema=SCHEMA)
    op.drop_column("schedules", "job", schema=SCHEMA)
