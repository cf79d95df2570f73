"""A service process's entry (agentmesh_grpc.entry): the process settings it applies before serving, and its loop.

Each case runs a probe service as its own process, as the platform starts one, so
that what the entry sets for the whole process (the GIL switch interval, the frozen
start-up heap, signal handlers) never touches the test process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import psutil  # type: ignore[import-untyped]  # no stubs
import pytest

from agentmesh_devstack.waiting import eventually_sync

PROBE = textwrap.dedent(
    """
    import asyncio, gc, os, signal, sys

    from agentmesh_core.settings import CommonSettings
    from agentmesh_devstack.ports import free_port
    from agentmesh_grpc.entry import ServiceEntry
    from agentmesh_grpc.service import Listener
    from agentmesh_grpc.trust import ServiceKeys


    class Probe:
        name = "probe"
        registrations = []

        def __init__(self, settings):
            self.listener = Listener(f"127.0.0.1:{free_port()}", ServiceKeys.local("memory"), 0.5)

        async def start(self, stack, stop):
            frozen_while_starting = gc.get_freeze_count()

            def report():  # runs once serving: after the entry's on_ready
                loop = type(asyncio.get_running_loop())
                print("switch", sys.getswitchinterval(), "frozen", frozen_while_starting, gc.get_freeze_count(),
                      "loop", f"{loop.__module__}.{loop.__qualname__}")
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGTERM)

            asyncio.get_running_loop().call_later(0.2, report)
            return []


    interval = float(sys.argv[1]) if len(sys.argv) > 1 else None
    ServiceEntry("probe", CommonSettings, "__main__:Probe", switch_interval_seconds=interval).run()
    """
)


def run_probe(*args: str) -> list[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AGENTMESH_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("switch ")]
    return line.split()


@pytest.mark.parametrize(("args", "interval"), [((), 0.005), (("0.0005",), 0.0005)], ids=["default", "set"])
def test_the_entry_sets_the_switch_interval_and_freezes_the_heap_once_started(args, interval) -> None:
    _, switch, _, frozen_while_starting, frozen_when_serving, _, _ = run_probe(*args)
    assert float(switch) == pytest.approx(interval)
    assert int(frozen_while_starting) == 0
    assert int(frozen_when_serving) > 10_000  # the imported stacks' objects, at least


def test_the_service_runs_on_uvloop() -> None:
    *_, loop = run_probe()
    assert loop == "uvloop.Loop"


# A probe that serves until stopped, started by a parent that names itself as the dev stack does
# (AGENTMESH_STOP_WITH_PARENT_PID); the parent writes the probe's pid and then waits to be killed.
SERVING_PROBE = PROBE.replace("os.kill(os.getpid(), signal.SIGTERM)", "pass")
PARENT = textwrap.dedent(
    """
    import os, subprocess, sys, time

    log = open(sys.argv[2], "wb")
    env = {**os.environ, "AGENTMESH_STOP_WITH_PARENT_PID": str(os.getpid())}
    probe = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env=env, stdout=log, stderr=log)
    with open(sys.argv[3], "w") as out:
        out.write(str(probe.pid))
    time.sleep(120)
    """
)


def gone(pid: int) -> bool:
    """The process has exited (a zombie no one reaps counts as exited)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_service_stops_gracefully_once_the_stack_that_started_it_is_killed(tmp_path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AGENTMESH_")}
    log, pid_file = tmp_path / "probe.log", tmp_path / "probe.pid"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, SERVING_PROBE, str(log), str(pid_file)], env=env)
    probe = 0
    try:

        def serving() -> bool:
            text = log.read_text() if log.exists() else ""
            assert parent.poll() is None, text
            return "switch" in text

        eventually_sync(serving, timeout=60, interval=0.05, what="the probe to serve")
        probe = int(pid_file.read_text())
        assert not gone(probe)
        parent.kill()
        parent.wait(10)
        eventually_sync(lambda: gone(probe), timeout=20, interval=0.05, what="the service to stop with its stack")
        assert "is gone: stopping" in log.read_text()
    finally:
        parent.kill()
        if probe and not gone(probe):
            os.kill(probe, signal.SIGKILL)
