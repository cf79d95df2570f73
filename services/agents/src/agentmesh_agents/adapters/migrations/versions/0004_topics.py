"""Topics: agents' subscriptions found through an index, publications and what each delivered.

A publish looks its subscribers up with `topics @> '["<topic>"]'` over a GIN
index on the topics array (no per-agent consumer or subscription row to keep in
step). A publication is stored with the messages it fans out to in one
transaction; its idempotency key lets a retried publish find them again.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "agents"


def upgrade() -> None:
    op.create_index(
        "ix_agents_topics",
        "agents",
        ["topics"],
        schema=SCHEMA,
        postgresql_using="gin",
        postgresql_ops={"topics": "jsonb_path_ops"},
    )
    op.create_table(
        "topic_publications",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("project_id", UUID(as_uuid=False), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("sender_type", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_topic_publications_key",
        "topic_publications",
        ["project_id", "topic", "idempotency_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index("ix_topic_publications_project", "topic_publications", ["project_id"], schema=SCHEMA)
    op.create_table(
        "topic_deliveries",
        sa.Column(
            "publication_id",
            UUID(as_uuid=False),
            sa.ForeignKey(f"{SCHEMA}.topic_publications.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("message_id", UUID(as_uuid=False), primary_key=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("topic_deliveries", schema=SCHEMA)
    op.drop_table("topic_publications", schema=SCHEMA)
    op.drop_index("ix_agents_topics", "agents", schema=SCHEMA)
