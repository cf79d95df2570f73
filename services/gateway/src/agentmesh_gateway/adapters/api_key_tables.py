"""Tables of project API keys and of the token usage of the gateway's inference calls
(schema `gateway`, revision 0003); on the same MetaData as the accounts tables."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, ForeignKey, Index, String, Table
from sqlalchemy.dialects.postgresql import UUID

from agentmesh_gateway.adapters.tables import metadata, projects, users

# A key by the SHA-256 of its secret (the secret itself is never stored); prefix is for display.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("project_id", UUID(as_uuid=False), ForeignKey(projects.c.id, ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_by", UUID(as_uuid=False), ForeignKey(users.c.id, ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_api_keys_project", "project_id"),
)

# Tokens per project, UTC day and caller: `caller` is "key:<id>" or "user:<id>" (one key
# column that is never NULL, so that the upsert's conflict target works).
api_usage = Table(
    "api_usage",
    metadata,
    Column("project_id", UUID(as_uuid=False), ForeignKey(projects.c.id, ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("caller", String(64), primary_key=True),
    Column("key_id", UUID(as_uuid=False), ForeignKey(api_keys.c.id, ondelete="CASCADE")),
    Column("user_id", UUID(as_uuid=False), ForeignKey(users.c.id, ondelete="SET NULL")),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("requests", BigInteger, nullable=False),
)
