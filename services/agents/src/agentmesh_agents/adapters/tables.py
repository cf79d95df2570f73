"""The agents service's tables, in its own PostgreSQL schema `agents`.

The revisions in migrations/versions create them (applied at start-up from
MIGRATIONS_DIR into SCHEMA); these definitions are what the repositories query with.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

SCHEMA = "agents"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
metadata = MetaData(schema=SCHEMA)

agents = Table(
    "agents",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("project_id", UUID(as_uuid=False), nullable=False),
    Column("name", String(200), nullable=False),
    Column("purpose", Text, nullable=False, server_default=""),
    Column("system_prompt", Text, nullable=False, server_default=""),
    Column("model_config", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("agent_type", String(100), nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("topics", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("project_id", "name", name="uq_agents_project_name"),
    Index("ix_agents_project_created", "project_id", "created_at"),
    # A topic's subscribers: `topics @> '["<topic>"]'` (topic_repository.py).
    Index("ix_agents_topics", "topics", postgresql_using="gin", postgresql_ops={"topics": "jsonb_path_ops"}),
)

messages = Table(
    "messages",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("project_id", UUID(as_uuid=False), nullable=False),
    Column("conversation_id", UUID(as_uuid=False), nullable=False),
    Column("sender_type", String(16), nullable=False),
    Column("sender_id", String(200), nullable=False),
    Column("receiver_type", String(16), nullable=False),
    Column("receiver_id", String(200), nullable=False),
    Column("content", JSONB, nullable=False),
    Column("performative", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("error", Text, nullable=False, server_default=""),
    Column("parent_id", UUID(as_uuid=False), nullable=True),
    Column("correlation_id", String(200), nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_messages_project_created", "project_id", "created_at"),
    Index("ix_messages_conversation", "project_id", "conversation_id", "created_at"),
    Index("ix_messages_project_status", "project_id", "status"),
    Index(
        "uq_messages_idempotency",
        "project_id",
        "idempotency_key",
        unique=True,
        postgresql_where=text("idempotency_key IS NOT NULL"),
    ),
    Index("uq_messages_reply_parent", "parent_id", unique=True, postgresql_where=text("performative = 'reply'")),
    Index("ix_messages_queued", "created_at", postgresql_where=text("status = 'queued'")),
)

tools = Table(
    "tools",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("description", Text, nullable=False),
    Column("parameters", JSONB, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("restricted", Boolean, nullable=False),
    Column("requires_approval", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

agent_tools = Table(
    "agent_tools",
    metadata,
    Column("project_id", UUID(as_uuid=False), nullable=False),
    Column("agent_id", UUID(as_uuid=False), ForeignKey("agents.agents.id", ondelete="CASCADE"), primary_key=True),
    Column("tool_name", String(64), ForeignKey("agents.tools.name", ondelete="CASCADE"), primary_key=True),
    Column("config", JSONB, nullable=False),
    Column("requires_approval", Boolean, nullable=True),
    Column("last_used", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_agent_tools_project_agent", "project_id", "agent_id"),
)

tool_calls = Table(
    "tool_calls",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("project_id", UUID(as_uuid=False), nullable=False),
    Column("agent_id", UUID(as_uuid=False), nullable=False),
    Column("message_id", UUID(as_uuid=False), nullable=False),
    Column("tool", String(200), nullable=False),
    Column("arguments", JSONB, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("duration_ms", BigInteger, nullable=False),
    Column("error", Text, nullable=False),
    Column("step", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_tool_calls_project_created", "project_id", "created_at"),
    Index("ix_tool_calls_message", "message_id"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("project_id", UUID(as_uuid=False), nullable=False),
    Column("agent_id", UUID(as_uuid=False), nullable=False),
    Column("message_id", UUID(as_uuid=False), nullable=False),
    Column("conversation_id", UUID(as_uuid=False), nullable=False),
    Column("tool_call_id", UUID(as_uuid=False), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("arguments", JSONB, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("comment", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Index("ix_approvals_project_created", "project_id", "created_at"),
    Index("ix_approvals_pending_expiry", "expires_at", postgresql_where=text("status = 'pending'")),
)

turns = Table(
    "turns",
    metadata,
    Column("message_id", UUID(as_uuid=False), primary_key=True),
    Column("project_id", UUID(as_uuid=False), nullable=False),
    Column("agent_id", UUID(as_uuid=False), nullable=False),
    Column("steps_used", Integer, nullable=False),
    Column("tokens_used", Integer, nullable=False),
    Column("active_ms", BigInteger, nullable=False),
    Column("transcript", JSONB, nullable=False),
    Column("parked", JSONB(none_as_null=True), nullable=True),
    Column("wake", JSONB(none_as_null=True), nullable=True),
    Column("park_key", String(200), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_turns_project", "project_id"),
    Index("ix_turns_park_key", "park_key", postgresql_where=text("park_key IS NOT NULL")),
)

# Registered MCP servers. `headers` is a Fernet token of the JSON headers (secrets at rest);
# `tools` maps each catalog suffix to the server's own tool name.
mcp_servers = Table(
    "mcp_servers",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("tools", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("refreshed_at", DateTime(timezone=True), nullable=True),
)

# Publications to topics, and the message each delivered (one per subscriber), stored together.
topic_publications = Table(
    "topic_publications",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("project_id", UUID(as_uuid=False), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=True),
    Column("sender_type", String(16), nullable=False),
    Column("sender_id", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(
        "uq_topic_publications_key",
        "project_id",
        "topic",
        "idempotency_key",
        unique=True,
        postgresql_where=text("idempotency_key IS NOT NULL"),
    ),
    Index("ix_topic_publications_project", "project_id"),
)

topic_deliveries = Table(
    "topic_deliveries",
    metadata,
    Column(
        "publication_id",
        UUID(as_uuid=False),
        ForeignKey("agents.topic_publications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("message_id", UUID(as_uuid=False), primary_key=True),
)
