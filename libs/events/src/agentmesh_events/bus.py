"""Connecting to NATS, declaring streams, publishing with request ids and trace context in headers."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from agentmesh_events import subjects
from agentmesh_observability import context, tracing

log = logging.getLogger(__name__)

EVENTS_MAX_AGE_SECONDS = 24 * 3600
# The monitor replays a day of system events when it starts (its daily summary counts them).
SYSTEM_MAX_AGE_SECONDS = 2 * 24 * 3600
# JetStream keeps at most 5 copies of a stream.
MAX_REPLICAS = 5


async def connect(url: str, name: str, user: str = "", password: str = "") -> Client:
    """A connection that keeps reconnecting when the server goes away.

    `user` and `password` are the service's NATS user (agentmesh_events.access);
    without them the URL's own (`nats://user:password@host`), if any, are used.
    """
    credentials = {"user": user, "password": password} if user else {}

    async def on_disconnect() -> None:
        log.warning("nats disconnected")

    async def on_reconnect() -> None:
        log.info("nats reconnected")

    async def on_error(error: Exception) -> None:
        log.warning("nats error: %s", type(error).__name__)

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
        **credentials,
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Declare the streams agentmesh needs (idempotent).

    `replicas` copies of each stream are kept (3 on a 3-node NATS cluster, so a
    node can go without losing mailboxes or events); an existing stream is updated
    to it, which NATS supports for clustered JetStream.
    """
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError(f"stream replicas must be 1..{MAX_REPLICAS}")
    configs = [
        StreamConfig(
            name=subjects.INBOX_STREAM,
            subjects=[subjects.INBOX_SUBJECTS],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=120,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=subjects.EVENTS_STREAM,
            subjects=[subjects.EVENTS_SUBJECTS],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=EVENTS_MAX_AGE_SECONDS,
            duplicate_window=120,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=subjects.SYSTEM_STREAM,
            subjects=[subjects.SYSTEM_SUBJECTS],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=SYSTEM_MAX_AGE_SECONDS,
            duplicate_window=120,
            num_replicas=replicas,
        ),
    ]
    for config in configs:
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)


def outgoing_headers(msg_id: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers that carry the bound request context, the current span's `traceparent` (tracing on) and a dedup id."""
    headers = {f"am-{key.replace('_', '-')}": value for key, value in context.snapshot().items()}
    tracing.inject(headers)
    if msg_id:
        headers["Nats-Msg-Id"] = msg_id
    if extra:
        headers.update(extra)
    return headers


def context_from_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The log context a received message carried, ready for context.bind(**...)."""
    fields = {}
    for key in context.FIELDS:
        value = (headers or {}).get(f"am-{key.replace('_', '-')}")
        if value:
            fields[key] = value
    return fields


def trace_parent_from_headers(headers: Mapping[str, str] | None) -> str | None:
    """The `traceparent` a received message carried (its sender's span), if any."""
    return (headers or {}).get(tracing.TRACEPARENT_HEADER) or None
