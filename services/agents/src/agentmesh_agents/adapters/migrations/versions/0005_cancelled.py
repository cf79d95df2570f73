"""Messages may be `cancelled`; `delivered`, which nothing ever set, is no longer a status.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "agents"


def upgrade() -> None:
    op.drop_constraint("ck_messages_status", "messages", schema=SCHEMA)
    op.create_check_constraint(
        "ck_messages_status",
        "messages",
        "status IN ('queued', 'processing', 'complete', 'error', 'awaiting_approval', 'cancelled')",
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.execute(f"UPDATE {SCHEMA}.messages SET status = 'error', error = 'cancelled' WHERE status = 'cancelled'")
    op.drop_constraint("ck_messages_status", "messages", schema=SCHEMA)
    op.create_check_constraint(
        "ck_messages_status",
        "messages",
        "status IN ('queued', 'delivered', 'processing', 'complete', 'error', 'awaiting_approval')",
        schema=SCHEMA,
    )
