"""Which processes of a run dir a new `make run` stops: the stack's own, once no live devstack started them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs
import pytest

from agentmesh_core.parent_watch import PARENT_PID_VARIABLE
from agentmesh_devstack.leftovers import leftovers, stop_leftovers
from agentmesh_devstack.waiting import eventually_sync

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait(10)


def service_env(run_dir: Path) -> dict[str, str]:
    return {**os.environ, "AGENTMESH_RUN_DIR": str(run_dir), PARENT_PID_VARIABLE: "1"}


def test_a_service_of_the_run_dir_with_no_devstack_above_it_is_a_leftover(tmp_path: Path, started) -> None:
    service = subprocess.Popen(SLEEP, env=service_env(tmp_path))
    started.append(service)
    assert [process.pid for process in leftovers(tmp_path)] == [service.pid]
    assert leftovers(tmp_path / "other") == []


def test_what_only_names_the_run_dir_is_not_the_stacks(tmp_path: Path, started) -> None:
    started.append(subprocess.Popen([*SLEEP, f"{tmp_path}/logs/agents.log"]))  # like `tail -f` of a log
    started.append(subprocess.Popen(SLEEP, env={**os.environ, "AGENTMESH_RUN_DIR": str(tmp_path)}))  # a shell's export
    time.sleep(0.2)
    assert leftovers(tmp_path) == []


def test_the_processes_a_live_devstack_started_are_kept(tmp_path: Path, started) -> None:
    # A parent whose command line is a devstack's starts a service of the run dir, and waits.
    parent = textwrap.dedent(
        f"""
        import subprocess, sys
        subprocess.Popen({SLEEP!r}).wait()
        """
    )
    started.append(subprocess.Popen([sys.executable, "-c", parent, "agentmesh_devstack"], env=service_env(tmp_path)))
    eventually_sync(psutil.Process(started[0].pid).children, timeout=10, what="the devstack's service to start")
    assert leftovers(tmp_path) == []


def test_stop_leftovers_stops_them_and_says_which(tmp_path: Path, started) -> None:
    service = subprocess.Popen(SLEEP, env=service_env(tmp_path))
    started.append(service)
    (stopped,) = stop_leftovers(tmp_path, grace_seconds=5)
    assert f"pid {service.pid}" in stopped
    assert not psutil.pid_exists(service.pid)  # stopped, and reaped by stop_leftovers' wait
    assert leftovers(tmp_path) == []
