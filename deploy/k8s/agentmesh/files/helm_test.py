"""`helm test`: the gateway answers its readiness URL with 200 and each gRPC
target's health check says SERVING.

Run in the gateway's image (`python -c`, no file to mount), configured by
environment: AGENTMESH_TEST_READYZ_URL, AGENTMESH_TEST_GRPC_TARGETS (host:port,
comma-separated), AGENTMESH_TEST_TIMEOUT_SECONDS. Every check is retried until the
timeout, so a release that is still starting gets the time it needs; the exit
status is 0 when all passed, 1 otherwise.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import urllib.error
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

log = logging.getLogger("agentmesh.helm_test")


def readyz_status(url: str) -> int:
    """The HTTP status of GET url (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def grpc_health(target: str) -> str:
    """The gRPC health status name of target's overall health ("" service)."""
    with grpc.insecure_channel(target) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.RpcError as error:
            return error.code().name if isinstance(error, grpc.Call) else "UNAVAILABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    url = os.environ["AGENTMESH_TEST_READYZ_URL"]
    targets = [t.strip() for t in os.environ.get("AGENTMESH_TEST_GRPC_TARGETS", "").split(",") if t.strip()]
    deadline = time.monotonic() + float(os.environ.get("AGENTMESH_TEST_TIMEOUT_SECONDS", "120"))
    checks = {url: lambda: readyz_status(url) == 200}
    for target in targets:
        checks[target] = lambda target=target: grpc_health(target) == "SERVING"
    pending = dict(checks)
    while True:
        for name, check in list(pending.items()):
            if check():
                log.info("ok: %s", name)
                del pending[name]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(2)
    for name in pending:
        log.error("failed: %s", name)
    return 1 if pending else 0


if __name__ == "__main__":
    sys.exit(main())
