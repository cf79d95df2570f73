"""Outbound adapters: the accounts store in PostgreSQL (schema `gateway`) and its migrations."""
