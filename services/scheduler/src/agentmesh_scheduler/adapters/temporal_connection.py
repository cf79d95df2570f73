"""How the scheduler connects to Temporal: the SDK's own environment configuration.

`temporalio.envconfig` reads the standard TEMPORAL_* variables and TOML
profiles (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): address, namespace, TLS
(TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME), an API key
(TEMPORAL_API_KEY, which turns TLS on, as Temporal Cloud needs) and gRPC
metadata (TEMPORAL_GRPC_META_*). AGENTMESH_TEMPORAL_ADDRESS and
AGENTMESH_TEMPORAL_NAMESPACE, when set, override address and namespace.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RetryConfig


@functools.cache
def logging_runtime() -> Runtime:
    """The process's Temporal runtime, its core's log lines forwarded to Python logging.

    The SDK's core (Rust) otherwise writes its warnings (e.g. "gRPC call ... retried
    5 times" while the server restarts) straight to stderr as coloured plain text,
    outside the service's JSON log.
    """
    forwarding = LogForwardingConfig(logger=logging.getLogger("temporalio.core"))
    core_logs = LoggingConfig(filter=TelemetryFilter(core_level="WARN", other_level="ERROR"), forwarding=forwarding)
    return Runtime(telemetry=TelemetryConfig(logging=core_logs))


def connect_options(
    address: str | None,
    namespace: str | None,
    *,
    default_address: str = "127.0.0.1:7233",
    default_namespace: str = "default",
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Client.connect keyword arguments: the SDK's profile, with explicit settings on top."""
    options: dict[str, Any] = dict(ClientConfig.load_client_connect_config(override_env_vars=environ))
    if address:
        options["target_host"] = address
    if namespace:
        options["namespace"] = namespace
    options.setdefault("target_host", default_address)
    options.setdefault("namespace", default_namespace)
    options["runtime"] = logging_runtime()
    return options


def api_options(options: Mapping[str, Any], give_up_after_seconds: float) -> dict[str, Any]:
    """Options for the client behind the API calls (schedules, jobs): quick to give up.

    The SDK retries a call that cannot reach Temporal for up to 10 s by default; a
    caller waiting that long (and a gateway answering 503 after 15 s) is worse than an
    UNAVAILABLE at once. The worker keeps its own client, with the SDK's retries.
    """
    millis = max(1, round(give_up_after_seconds * 1000))
    retry = RetryConfig(max_elapsed_time_millis=millis, max_interval_millis=min(500, millis))
    return {**options, "retry_config": retry, "connect_timeout": timedelta(seconds=give_up_after_seconds)}


async def connect(options: Mapping[str, Any]) -> Client:
    """Connect and check that Temporal answers (one attempt; the wiring retries it)."""
    client = await Client.connect(**options)
    await client.service_client.check_health()
    return client
