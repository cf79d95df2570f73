"""The memory schema: one row per stored chunk (its vector lives in Qdrant).

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

SCHEMA = "memory"


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("embedding_model", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("entries_project_created", "entries", ["project_id", "created_at", "seq"], schema=SCHEMA)
    op.create_index(
        "entries_project_agent_created", "entries", ["project_id", "agent_id", "created_at", "seq"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("entries_project_agent_created", table_name="entries", schema=SCHEMA)
    op.drop_index("entries_project_created", table_name="entries", schema=SCHEMA)
    op.drop_table("entries", schema=SCHEMA)
