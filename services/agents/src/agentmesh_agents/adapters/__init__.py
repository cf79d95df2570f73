"""Outbound adapters: PostgreSQL repositories, NATS mailboxes and events, service clients, fakes."""
