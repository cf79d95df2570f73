"""Set up once per process: JSON logging with request context (logging, context),
Prometheus metrics on their own address (metrics), OpenTelemetry tracing (tracing)."""
