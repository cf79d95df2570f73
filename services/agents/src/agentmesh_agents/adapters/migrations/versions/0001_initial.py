"""Agents and the message log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "agents"


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("project_id", UUID(as_uuid=False), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False, server_default=""),
        sa.Column("system_prompt", sa.Text, nullable=False, server_default=""),
        sa.Column("model_config", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("agent_type", sa.String(100), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("topics", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_agents_project_name"),
        sa.CheckConstraint("status IN ('active', 'paused')", name="ck_agents_status"),
        schema=SCHEMA,
    )
    op.create_index("ix_agents_project_created", "agents", ["project_id", "created_at"], schema=SCHEMA)

    op.create_table(
        "messages",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("project_id", UUID(as_uuid=False), nullable=False),
        sa.Column("conversation_id", UUID(as_uuid=False), nullable=False),
        sa.Column("sender_type", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("receiver_type", sa.String(16), nullable=False),
        sa.Column("receiver_id", sa.String(200), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("performative", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("parent_id", UUID(as_uuid=False), nullable=True),
        sa.Column("correlation_id", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'delivered', 'processing', 'complete', 'error')", name="ck_messages_status"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_messages_project_created", "messages", ["project_id", "created_at"], schema=SCHEMA)
    op.create_index(
        "ix_messages_conversation", "messages", ["project_id", "conversation_id", "created_at"], schema=SCHEMA
    )
    op.create_index("ix_messages_project_status", "messages", ["project_id", "status"], schema=SCHEMA)
    op.create_index(
        "uq_messages_idempotency",
        "messages",
        ["project_id", "idempotency_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    # A request has at most one reply, so a redelivered request can never answer twice.
    op.create_index(
        "uq_messages_reply_parent",
        "messages",
        ["parent_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("performative = 'reply'"),
    )
    op.create_index(
        "ix_messages_queued", "messages", ["created_at"], schema=SCHEMA, postgresql_where=sa.text("status = 'queued'")
    )


def downgrade() -> None:
    op.drop_table("messages", schema=SCHEMA)
    op.drop_table("agents", schema=SCHEMA)
