"""Atomic, idempotent adds: entries are written `pending`, made `ready` once their vectors are stored.

A pending entry is invisible (list, search, get); one left by a crash is removed by
the sweep (domain Memory.sweep_pending) or finished by a retry with the add's key.
`add_keys` claims an idempotency key per project, so that two adds with one key store
one set of entries.

Revision ID: 0002_atomic_adds
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_atomic_adds"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

SCHEMA = "memory"


def upgrade() -> None:
    op.add_column("entries", sa.Column("state", sa.Text(), nullable=False, server_default="ready"), schema=SCHEMA)
    op.add_column("entries", sa.Column("idempotency_key", sa.Text(), nullable=True), schema=SCHEMA)
    op.create_index(
        "entries_pending_created",
        "entries",
        ["created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "entries_project_key",
        "entries",
        ["project_id", "idempotency_key"],
        schema=SCHEMA,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_table(
        "add_keys",
        sa.Column("project_id", sa.Uuid(), primary_key=True),
        sa.Column("idempotency_key", sa.Text(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("add_keys", schema=SCHEMA)
    op.drop_index("entries_project_key", table_name="entries", schema=SCHEMA)
    op.drop_index("entries_pending_created", table_name="entries", schema=SCHEMA)
    op.drop_column("entries", "idempotency_key", schema=SCHEMA)
    op.drop_column("entries", "state", schema=SCHEMA)
