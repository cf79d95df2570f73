"""The embedded stack: real PostgreSQL, NATS (JetStream) and Temporal started by
the project itself, plus the five service processes, for `make run` and tests."""
