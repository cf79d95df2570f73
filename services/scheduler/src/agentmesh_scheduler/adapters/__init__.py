"""Outbound adapters: PostgreSQL, Temporal, the agents service, and in-memory fakes."""
