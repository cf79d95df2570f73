"""Shared vocabulary of agentmesh: errors, identities, tokens, ids and settings."""
