"""Channels to other services: identity, request id (and traceparent when tracing is on)
on every call, a default deadline on unary calls, and retries on UNAVAILABLE."""

from __future__ import annotations

import json

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentmesh_core.tokens import IdentitySigner
from agentmesh_grpc.interceptors import StreamIdentityInterceptor, UnaryIdentityInterceptor
from agentmesh_grpc.telemetry import StreamTracingInterceptor, UnaryTracingInterceptor

DEFAULT_TIMEOUT_SECONDS = 10.0

# round_robin: a target that resolves to several addresses (a Kubernetes headless
# Service, `dns:///<svc>-headless:<port>`) gets a connection to each and spreads the
# calls over them; gRPC's default (pick_first) would send every call of the channel to
# one pod. A single address (a ClusterIP Service, 127.0.0.1) behaves as before.
_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


def create_channel(
    target: str, signer: IdentitySigner, default_timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> grpc.aio.Channel:
    """An insecure channel to target (mesh-internal; TLS comes from the platform).

    `target` is `host:port` or any gRPC name (`dns:///host:port`); calls are spread
    round-robin over every address it resolves to. The bound identity is signed onto
    each call by `signer` (this service's key), addressed to the method's service.
    """
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 30_000),
            # A restarted peer is used again within seconds (gRPC's default backoff grows to 120 s).
            ("grpc.initial_reconnect_backoff_ms", 500),
            ("grpc.max_reconnect_backoff_ms", 5_000),
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
        ],
        interceptors=[
            UnaryIdentityInterceptor(signer, default_timeout),
            StreamIdentityInterceptor(signer),
            UnaryTracingInterceptor(),
            StreamTracingInterceptor(),
        ],
    )


async def check_health(channel: grpc.aio.Channel, service: str = "", timeout: float = 2.0) -> bool:
    """True when the peer's gRPC health service says SERVING."""
    try:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout
        )
    except grpc.aio.AioRpcError:
        return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)  # grpc_health is untyped
