"""JSON logging and request context (ids in contextvars), set up once per process.

No metrics and no tracing live here: the gateway exports its own Prometheus metrics.
"""
