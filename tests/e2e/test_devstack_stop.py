"""`make run` stops cleanly however it is told to, and leaves no process behind.

A stop reaches the whole process group, and usually more than once: make forwards
SIGTERM to its recipe, `timeout` signals its child and then the group, process
managers and impatient people repeat themselves. The recipe runs under a throwaway
Makefile (the real `make run` first runs `make setup`) with free ports and a temp
run dir, so the processes it starts are found by that dir: in their command line
(make, devstack, PostgreSQL, NATS, Temporal) or their AGENTMESH_RUN_DIR (services,
vLLM's engine core).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from agentmesh_devstack.ports import free_ports, port_open
from agentmesh_devstack.stack import ALL_PORTS, port_variable
from agentmesh_devstack.waiting import eventually_sync

pytestmark = pytest.mark.slow

# Services stop one after another, each with up to 15 s grace, then Temporal, NATS, PostgreSQL.
STOP_WITHIN = 150.0


@dataclass
class Run:
    """One `make run` in its own session (process group)."""

    make: subprocess.Popen[bytes]
    run_dir: Path
    output: Path
    ports: dict[str, int]

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group may be gone already: fine
            os.killpg(self.make.pid, signum)

    def wait_for_line(self, text: str, timeout: float) -> None:
        def seen() -> bool:
            if self.make.poll() is not None:
                pytest.fail(f"make run exited early:\n{self.log()}")
            return text in self.log()

        eventually_sync(seen, timeout=timeout, interval=0.2, what=f"{text!r} in the make run output")

    def leftovers(self, services_only: bool = False) -> list[psutil.Process]:
        """Processes this run started that still exist (zombies already reaped by nobody excepted).

        `services_only`: those with the run dir in their environment, not the servers found by
        their command lines. Read in one pass: a process may end (a zombie) between two reads.
        """
        marker = str(self.run_dir)
        found = []
        for process in psutil.process_iter():
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
                in_environment = process.environ().get("AGENTMESH_RUN_DIR") == marker
                if in_environment or (not services_only and marker in " ".join(process.cmdline())):
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(after: Run | None = None) -> Run:
        """A new `make run`: in a run dir of its own, or in the one of `after` (its ports too)."""
        # Not under pytest's temp root, which a pytest session starting elsewhere chmods to
        # 0700: PostgreSQL runs as its own user and must traverse the run dir's path.
        run_dir = after.run_dir if after else Path(tempfile.mkdtemp(prefix="agentmesh-stop-test-"))
        makefile = tmp_path / "Makefile"
        makefile.write_text(f"run:\n\t@{sys.executable} -m agentmesh_devstack run --run-dir {run_dir}\n")
        # Every port `make run` listens on: one left at its default collides with another test's run.
        ports = after.ports if after else dict(zip(ALL_PORTS, free_ports(len(ALL_PORTS)), strict=True))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        env.pop("AGENTMESH_MODEL", None)  # the tiny model, whatever the developer serves
        env.update({port_variable(name): str(port) for name, port in ports.items()})
        output = tmp_path / f"make-run-{len(runs)}.log"
        with output.open("wb") as out:
            make = subprocess.Popen(
                ["make", "--no-print-directory", "-f", str(makefile), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        runs.append(Run(make, run_dir, output, ports))
        return runs[-1]

    yield start
    for run in runs:  # a failed test must not leave its mesh running
        for process in run.leftovers():
            with contextlib.suppress(psutil.NoSuchProcess):  # ended meanwhile
                process.kill()
        if run.make.poll() is None:
            run.make.kill()
            run.make.wait(10)
        shutil.rmtree(run.run_dir, ignore_errors=True)


def _described(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline())[:160]}"
    except psutil.NoSuchProcess:  # a zombie by now: it was still running when found
        return f"{process.pid} (ended while being reported)"


def _assert_stopped_cleanly(run: Run) -> None:
    eventually_sync(lambda: run.make.poll() is not None, timeout=STOP_WITHIN, interval=0.5, what="make run to exit")
    left = [_described(process) for process in run.leftovers()]
    assert not left, "left running after the stop:\n" + "\n".join(left) + f"\n--- make run output:\n{run.log()}"
    log = run.log()
    assert "Traceback" not in log and "devstack stopped" in log, log
    listening = [name for name, port in run.ports.items() if port_open("127.0.0.1", port)]
    assert not listening, f"still listening: {listening}"


def test_sigint_twice_to_the_group_during_start_up(make_run: Callable[..., Run]) -> None:
    run = make_run()
    run.wait_for_line("started nats", timeout=60)  # PostgreSQL is up, Temporal is starting
    run.signal_group(signal.SIGINT)
    run.signal_group(signal.SIGINT)
    _assert_stopped_cleanly(run)


def test_sigterm_to_the_group_once_ready_then_again_while_stopping(make_run: Callable[..., Run]) -> None:
    run = make_run()
    run.wait_for_line("agentmesh is up", timeout=420)
    run.signal_group(signal.SIGTERM)  # make forwards it to the recipe a second time
    run.wait_for_line("devstack stopping", timeout=10)
    run.signal_group(signal.SIGTERM)  # e.g. a process manager repeating itself
    _assert_stopped_cleanly(run)


def test_a_run_killed_outright_is_cleaned_up_by_the_next_one(make_run: Callable[..., Run]) -> None:
    first = make_run()
    first.wait_for_line("agentmesh is up", timeout=420)
    (devstack,) = psutil.Process(first.make.pid).children()
    devstack.kill()  # SIGKILL: nothing of its own stop runs
    first.make.wait(10)

    def services_gone() -> bool:  # they watch their parent (agentmesh_core.parent_watch)
        return not first.leftovers(services_only=True)

    eventually_sync(services_gone, timeout=STOP_WITHIN, interval=0.5, what="the services to stop themselves")
    assert port_open("127.0.0.1", first.ports["nats_port"]), "NATS is left running: the next run has to stop it"

    second = make_run(first)  # the same run dir and ports
    second.wait_for_line("agentmesh is up", timeout=420)
    assert "stopped what a killed `make run` left running" in second.log(), second.log()
    second.signal_group(signal.SIGTERM)
    _assert_stopped_cleanly(second)
