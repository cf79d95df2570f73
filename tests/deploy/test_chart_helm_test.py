"""`helm test`: the hook Pod is rendered as Helm expects, and the script it runs
(files/helm_test.py, passed as `python -c`) passes against a ready gateway and a
SERVING gRPC service and fails otherwise: run here exactly as the Pod runs it."""

from __future__ import annotations

import subprocess
import sys
import threading
import wsgiref.simple_server
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import grpc
import helm_python as helm
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from helm_chart import CHART_DIR, RELEASE, of_kind, render

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def hook_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (pod,) = of_kind(objects, "Pod").values()
    return pod


def env_of(pod: dict[str, Any]) -> dict[str, str]:
    return {var["name"]: var["value"] for var in pod["spec"]["containers"][0]["env"]}


def test_the_hook_pod_checks_readyz_and_grpc_health(chart: helm.Chart) -> None:
    pod = hook_pod(render(chart))
    assert pod["metadata"]["name"] == f"{RELEASE}-test"
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    (main,) = spec["containers"]
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert main["resources"]["limits"]["memory"]
    assert main["command"] == ["python", "-c", (CHART_DIR / "files" / "helm_test.py").read_text()]
    env = env_of(pod)
    assert env["AGENTMESH_TEST_READYZ_URL"] == f"http://{RELEASE}-gateway:8000/readyz/dependencies"
    assert env["AGENTMESH_TEST_GRPC_TARGETS"] == f"{RELEASE}-agents:50051"


def test_what_the_hook_checks_is_a_value(chart: helm.Chart) -> None:
    values = {"tests": {"readyzPath": "/readyz", "grpcServices": ["memory", "scheduler"]}}
    objects = render(chart, values)
    env = env_of(hook_pod(objects))
    assert env["AGENTMESH_TEST_READYZ_URL"] == f"http://{RELEASE}-gateway:8000/readyz"
    assert env["AGENTMESH_TEST_GRPC_TARGETS"] == f"{RELEASE}-memory:50052,{RELEASE}-scheduler:50054"
    egress = of_kind(objects, "NetworkPolicy")[f"{RELEASE}-test"]["spec"]["egress"]
    ports = {rule["ports"][0]["port"] for rule in egress}
    assert ports == {8000, 50052, 50054, 53}
    assert of_kind(render(chart, {"tests": {"enabled": False}}), "Pod") == {}


@dataclass
class Gateway:
    """A stand-in gateway whose /readyz answers `status`."""

    status: int = 200
    url: str = ""


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        code = state.status if environ["PATH_INFO"] == "/readyz" else 404
        start_response(f"{code} {HTTPStatus(code).phrase}", [("Content-Type", "application/json")])
        return [b"{}"]

    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/readyz"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def grpc_service() -> Iterator[tuple[str, health.HealthServicer]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(None)


def run_hook(chart: helm.Chart, url: str, target: str, timeout: int) -> subprocess.CompletedProcess[str]:
    """Run the rendered Pod's command with its environment pointed at the stand-ins."""
    (main,) = hook_pod(render(chart))["spec"]["containers"]
    env = {
        "AGENTMESH_TEST_READYZ_URL": url,
        "AGENTMESH_TEST_GRPC_TARGETS": target,
        "AGENTMESH_TEST_TIMEOUT_SECONDS": str(timeout),
    }
    command = [sys.executable, *main["command"][1:]]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_hook_passes_when_everything_is_ready(chart: helm.Chart, gateway: Gateway, grpc_service: Any) -> None:
    target, servicer = grpc_service
    servicer.set("", SERVING)
    result = run_hook(chart, gateway.url, target, timeout=5)
    assert result.returncode == 0, result.stderr
    assert f"ok: {gateway.url}" in result.stderr and f"ok: {target}" in result.stderr


@pytest.mark.parametrize(("readyz", "grpc_status"), [(503, SERVING), (200, NOT_SERVING)])
def test_the_hook_fails_when_a_check_fails(
    chart: helm.Chart, gateway: Gateway, grpc_service: Any, readyz: int, grpc_status: int
) -> None:
    target, servicer = grpc_service
    gateway.status = readyz
    servicer.set("", grpc_status)
    result = run_hook(chart, gateway.url, target, timeout=1)
    assert result.returncode == 1
    failed = gateway.url if readyz != 200 else target
    assert f"failed: {failed}" in result.stderr


def test_the_hook_fails_when_nothing_answers(chart: helm.Chart, gateway: Gateway) -> None:
    result = run_hook(chart, gateway.url, "127.0.0.1:1", timeout=1)
    assert result.returncode == 1
    assert "failed: 127.0.0.1:1" in result.stderr
