"""Single-use stream tickets (EventSource/WebSocket authentication without a token in the URL).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "gateway"


def upgrade() -> None:
    op.create_table(
        "stream_tickets",
        sa.Column("ticket_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=False), sa.ForeignKey(f"{SCHEMA}.users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "session_id",
            UUID(as_uuid=False),
            sa.ForeignKey(f"{SCHEMA}.sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_stream_tickets_expires", "stream_tickets", ["expires_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("stream_tickets", schema=SCHEMA)
