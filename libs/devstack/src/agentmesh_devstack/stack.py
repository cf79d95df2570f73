"""The whole local mesh: infrastructure plus the five service processes.

`make run` uses fixed ports (overridable by env) and the checkout's `.run/`;
tests use free ports and a temporary run directory, so the two never collide.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from agentmesh_core.parent_watch import PARENT_PID_VARIABLE
from agentmesh_core.tokens import IdentitySigner
from agentmesh_devstack.identity_keys import identity_env, run_dir_keyring, service_keys
from agentmesh_devstack.infra import EmbeddedPostgres, NatsServer, TemporalDevServer
from agentmesh_devstack.ports import free_ports
from agentmesh_devstack.processes import ManagedProcess

log = logging.getLogger(__name__)

# Start order: the slow loaders first, the gateway last.
SERVICES = ("inference", "memory", "agents", "scheduler", "gateway")
DATABASE_NAME = "agentmesh"
INFRASTRUCTURE_PORTS = ("nats_port", "temporal_port", "temporal_ui_port")
SERVICE_PORTS = (
    "gateway_port", "agents_port", "memory_port", "inference_port", "scheduler_port",
    "agents_metrics_port", "memory_metrics_port", "inference_metrics_port", "scheduler_metrics_port",
)  # fmt: skip
ALL_PORTS = INFRASTRUCTURE_PORTS + SERVICE_PORTS


def port_variable(port: str) -> str:
    """The variable that overrides one of `make run`'s ports: gateway_port -> AGENTMESH_GATEWAY_PORT."""
    return f"AGENTMESH_{port.removesuffix('_port').upper()}_PORT"


@dataclass
class StackConfig:
    """Where everything listens and where its data lives."""

    run_dir: Path
    host: str = "127.0.0.1"
    gateway_port: int = 8000
    agents_port: int = 50051
    memory_port: int = 50052
    inference_port: int = 50053
    scheduler_port: int = 50054
    nats_port: int = 4222
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    agents_metrics_port: int = 9151
    memory_metrics_port: int = 9152
    inference_metrics_port: int = 9153
    scheduler_metrics_port: int = 9154
    temporal_headless: bool = False
    admin_username: str = "admin"
    admin_password: str = "agentmesh-admin"
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def local(cls, run_dir: Path) -> StackConfig:
        """Fixed defaults for `make run`, each overridable by AGENTMESH_* env (ports: `port_variable`)."""
        env = os.environ
        defaults = cls(run_dir=run_dir)
        ports: dict[str, Any] = {name: int(env.get(port_variable(name), getattr(defaults, name))) for name in ALL_PORTS}
        return replace(
            defaults,
            **ports,
            admin_username=env.get("AGENTMESH_ADMIN_USERNAME", defaults.admin_username),
            admin_password=env.get("AGENTMESH_ADMIN_PASSWORD", defaults.admin_password),
        )

    @classmethod
    def ephemeral(cls, run_dir: Path, **overrides) -> StackConfig:
        """Free ports everywhere, headless Temporal (tests).

        The services' ports are 0 here, chosen by `with_service_ports` once the
        infrastructure runs: Temporal's dev server listens on five random ports
        besides its own, and a port chosen before it started could be one of them.
        """
        ports = dict(zip(INFRASTRUCTURE_PORTS, free_ports(len(INFRASTRUCTURE_PORTS)), strict=True))
        ports |= dict.fromkeys(SERVICE_PORTS, 0)
        return cls(run_dir=run_dir, temporal_headless=True, **{**ports, **overrides})

    def with_service_ports(self) -> StackConfig:
        """This config with a free port for each service port that is 0 (see `ephemeral`)."""
        unset = [name for name in SERVICE_PORTS if getattr(self, name) == 0]
        chosen: dict[str, Any] = dict(zip(unset, free_ports(len(unset)), strict=True))
        return replace(self, **chosen)

    def addr(self, service: str) -> str:
        return f"{self.host}:{getattr(self, f'{service}_port')}"

    def metrics_addr(self, service: str) -> str:
        """Where a gRPC service serves its Prometheus /metrics."""
        ports = {
            "agents": self.agents_metrics_port,
            "memory": self.memory_metrics_port,
            "inference": self.inference_metrics_port,
            "scheduler": self.scheduler_metrics_port,
        }
        return f"{self.host}:{ports[service]}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"


class Stack:
    """Starts and stops the infrastructure and the services of one run dir."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        run = config.run_dir
        self.log_dir = run / "logs"
        self.postgres = EmbeddedPostgres(run / "postgres")
        self.nats = NatsServer(config.host, config.nats_port, run / "nats", self.log_dir)
        self.temporal = TemporalDevServer(
            config.host, config.temporal_port, config.temporal_ui_port,
            run / "temporal" / "temporal.db", self.log_dir, headless=config.temporal_headless,
        )  # fmt: skip
        self.database_url = ""
        self.services: dict[str, ManagedProcess] = {}
        # Each service's own identity key, made for this run dir (tests call as a service with these).
        self.identity_keys = run_dir_keyring(run)

    def start_infra(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.postgres.start()
        self.database_url = self.postgres.database_url(DATABASE_NAME)
        self.nats.start()
        self.temporal.start()
        self.config = self.config.with_service_ports()

    def service_env(self) -> dict[str, str]:
        """The environment every service process gets."""
        c = self.config
        env = {
            **os.environ,
            "AGENTMESH_RUN_DIR": str(c.run_dir),
            "AGENTMESH_DATABASE_URL": self.database_url,
            "AGENTMESH_NATS_URL": self.nats.url,
            "AGENTMESH_TEMPORAL_ADDRESS": self.temporal.address,
            "AGENTMESH_QDRANT_PATH": str(c.run_dir / "qdrant"),
            "AGENTMESH_GATEWAY_HOST": c.host,
            "AGENTMESH_GATEWAY_PORT": str(c.gateway_port),
            "AGENTMESH_ADMIN_USERNAME": c.admin_username,
            "AGENTMESH_ADMIN_PASSWORD": c.admin_password,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
            # Killed outright, this process cannot stop the services: they stop themselves then.
            PARENT_PID_VARIABLE: str(os.getpid()),
        }
        for service in SERVICES[:-1]:
            upper = service.upper()
            env[f"AGENTMESH_{upper}_LISTEN_ADDR"] = c.addr(service)
            env[f"AGENTMESH_{upper}_SERVICE_ADDR"] = c.addr(service)
            # Two meshes on one machine (parallel e2e tests, a test beside `make run`) must not share them.
            env[f"AGENTMESH_{upper}_METRICS_ADDR"] = c.metrics_addr(service)
        env.update(c.extra_env)
        return env

    def signer(self, service: str = "gateway") -> IdentitySigner:
        """Signs identities as service does in this mesh: for tests and benches that call a service directly."""
        return service_keys(self.identity_keys, service).signer

    def start_service(self, name: str) -> None:
        # Each service connects to NATS as its own user (agentmesh_events.access).
        env = {**self.service_env(), **identity_env(self.identity_keys, name), **self.nats.service_env(name)}
        process = ManagedProcess(name, [sys.executable, "-m", f"agentmesh_{name}"], self.log_dir / f"{name}.log", env)
        process.start()
        self.services[name] = process

    def stop_service(self, name: str, grace: float = 15.0) -> None:
        process = self.services.pop(name, None)
        if process:
            process.stop(grace=grace)

    def infrastructure_pids(self) -> dict[str, int]:
        """The running infrastructure servers' process ids, by name (PostgreSQL: its postmaster)."""
        pids = {
            name: server.process.proc.pid
            for name, server in (("nats", self.nats), ("temporal", self.temporal))
            if server.process is not None and server.process.proc is not None
        }
        postmaster = self.postgres.data_dir / "postmaster.pid"
        if postmaster.exists():
            pids["postgres"] = int(postmaster.read_text().split()[0])
        return pids

    def start_services(self) -> None:
        for name in SERVICES:
            self.start_service(name)

    def readiness(self) -> tuple[int, dict]:
        """The gateway's /readyz/dependencies answer (every service), or (0, {}) when it does not answer."""
        try:
            response = httpx.get(f"{self.config.gateway_url}/readyz/dependencies", timeout=3)
        except httpx.HTTPError:
            return 0, {}
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {}

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Block until /readyz/dependencies says 200; fail fast if a service process dies."""
        deadline = time.monotonic() + timeout
        last: dict = {}
        while time.monotonic() < deadline:
            for name, process in self.services.items():
                if not process.running:
                    raise RuntimeError(f"service {name} exited during start-up:\n{process.tail()}")
            status, last = self.readiness()
            if status == 200:
                return
            time.sleep(0.5)
        raise TimeoutError(f"mesh not ready after {timeout:.0f}s; last /readyz/dependencies: {last}")

    def stop(self) -> None:
        """Stop services (gateway first), then Temporal, NATS, PostgreSQL.

        Each part is stopped even when an earlier one fails to stop (a process that
        outlives its SIGKILL: ptrace-stopped, stuck in the kernel); the first failure
        is raised once every part has had its turn, so nothing is left running unseen.
        """
        with contextlib.ExitStack() as stopping:  # callbacks run last-registered first
            for part in (self.postgres, self.nats, self.temporal):
                stopping.callback(part.stop)
            for name in SERVICES:
                stopping.callback(self.stop_service, name)


@contextlib.contextmanager
def running_mesh(config: StackConfig, ready_timeout: float = 420.0) -> Iterator[Stack]:
    """The whole mesh, started and ready (tests, benches); stopped on the way out, whatever happened."""
    stack = Stack(config)
    try:
        stack.start_infra()
        stack.start_services()
        stack.wait_ready(timeout=ready_timeout)
        yield stack
    finally:
        stack.stop()
