"""Tools: the catalog, agents' grants, the call audit, approvals and parked turns.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "agents"
_STATUSES_BEFORE = "'queued', 'delivered', 'processing', 'complete', 'error'"


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # "awaiting_approval" is longer than the 16 characters the status had.
    op.alter_column("messages", "status", type_=sa.String(32), schema=SCHEMA)
    op.drop_constraint("ck_messages_status", "messages", schema=SCHEMA)
    op.create_check_constraint(
        "ck_messages_status", "messages", f"status IN ({_STATUSES_BEFORE}, 'awaiting_approval')", schema=SCHEMA
    )

    op.create_table(
        "tools",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("restricted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("requires_approval", sa.Boolean, nullable=False, server_default=sa.false()),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint("kind IN ('builtin', 'mcp')", name="ck_tools_kind"),
        schema=SCHEMA,
    )

    op.create_table(
        "agent_tools",
        sa.Column("project_id", UUID(as_uuid=False), nullable=False),
        sa.Column(
            "agent_id", UUID(as_uuid=False), sa.ForeignKey(f"{SCHEMA}.agents.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "tool_name", sa.String(64), sa.ForeignKey(f"{SCHEMA}.tools.name", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("config", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        # NULL: the tool's own requires_approval applies.
        sa.Column("requires_approval", sa.Boolean, nullable=True),
        _timestamp("last_used", nullable=True),
        _timestamp("created_at"),
        schema=SCHEMA,
    )
    op.create_index("ix_agent_tools_project_agent", "agent_tools", ["project_id", "agent_id"], schema=SCHEMA)

    op.create_table(
        "tool_calls",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("project_id", UUID(as_uuid=False), nullable=False),
        sa.Column("agent_id", UUID(as_uuid=False), nullable=False),
        sa.Column("message_id", UUID(as_uuid=False), nullable=False),
        # The name the model asked for: it may name no tool at all.
        sa.Column("tool", sa.String(200), nullable=False),
        sa.Column("arguments", JSONB, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("duration_ms", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("step", sa.Integer, nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint(
            "outcome IN ('allowed', 'refused', 'error', 'denied', 'expired', 'pending')", name="ck_tool_calls_outcome"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_tool_calls_project_created", "tool_calls", ["project_id", "created_at"], schema=SCHEMA)
    op.create_index("ix_tool_calls_message", "tool_calls", ["message_id"], schema=SCHEMA)

    op.create_table(
        "approvals",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("project_id", UUID(as_uuid=False), nullable=False),
        sa.Column("agent_id", UUID(as_uuid=False), nullable=False),
        sa.Column("message_id", UUID(as_uuid=False), nullable=False),
        sa.Column("conversation_id", UUID(as_uuid=False), nullable=False),
        sa.Column("tool_call_id", UUID(as_uuid=False), nullable=False),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("arguments", JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        _timestamp("expires_at"),
        _timestamp("created_at"),
        _timestamp("decided_at", nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'denied', 'expired')", name="ck_approvals_status"),
        schema=SCHEMA,
    )
    op.create_index("ix_approvals_project_created", "approvals", ["project_id", "created_at"], schema=SCHEMA)
    op.create_index(
        "ix_approvals_pending_expiry",
        "approvals",
        ["expires_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )

    # A ReAct turn's state between deliveries: what a parked turn resumes from, with no
    # consumer or coroutine held while it waits.
    op.create_table(
        "turns",
        sa.Column("message_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("project_id", UUID(as_uuid=False), nullable=False),
        sa.Column("agent_id", UUID(as_uuid=False), nullable=False),
        sa.Column("steps_used", sa.Integer, nullable=False),
        sa.Column("tokens_used", sa.Integer, nullable=False),
        sa.Column("active_ms", sa.BigInteger, nullable=False),
        sa.Column("transcript", JSONB, nullable=False),
        sa.Column("parked", JSONB, nullable=True),
        sa.Column("wake", JSONB, nullable=True),
        # What a parked turn waits for (an approval id, ...), to find it when that happens.
        sa.Column("park_key", sa.String(200), nullable=True),
        _timestamp("updated_at"),
        schema=SCHEMA,
    )
    op.create_index("ix_turns_project", "turns", ["project_id"], schema=SCHEMA)
    op.create_index(
        "ix_turns_park_key", "turns", ["park_key"], schema=SCHEMA, postgresql_where=sa.text("park_key IS NOT NULL")
    )


def downgrade() -> None:
    for table in ("turns", "approvals", "tool_calls", "agent_tools", "tools"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_constraint("ck_messages_status", "messages", schema=SCHEMA)
    op.create_check_constraint("ck_messages_status", "messages", f"status IN ({_STATUSES_BEFORE})", schema=SCHEMA)
    op.alter_column("messages", "status", type_=sa.String(16), schema=SCHEMA)
