"""What a `make run` killed outright left running in its run dir, found and stopped by the next one.

`make run` stops everything it started on any stop signal. Killed outright (SIGKILL, the
OOM killer) it cannot: its services then stop themselves (agentmesh_core.parent_watch),
but NATS and the Temporal dev server run on, holding their ports, and the next `make run`
in that run dir refused to start ("ports already in use"). A leftover is a process of the
run dir (NATS or Temporal with the dir in its command line, or a service the stack
started for it, with its children such as vLLM's engine core) that no live devstack
started. A live `make run` in the same dir keeps all of its processes; PostgreSQL is not
a leftover: it runs detached on purpose, and the next start reuses it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs

from agentmesh_core.parent_watch import PARENT_PID_VARIABLE

log = logging.getLogger(__name__)

DEVSTACK_MODULE = "agentmesh_devstack"
# The stack's own servers (PostgreSQL is not among them: see above).
INFRASTRUCTURE = ("nats-server", "temporal")


def _of_run_dir(process: psutil.Process, run_dir: str) -> bool:
    """NATS or Temporal serving run_dir's data, or a service the stack started for run_dir (with its children).

    Nothing else that names the dir (a `tail -f` of its logs, an editor) is the stack's.
    """
    if process.name() in INFRASTRUCTURE:
        return f"{run_dir}/" in " ".join(process.cmdline())
    environment = process.environ()
    # The stack names itself in every service's environment (and so in their children's).
    return environment.get("AGENTMESH_RUN_DIR") == run_dir and PARENT_PID_VARIABLE in environment


def _started_by_a_live_devstack(process: psutil.Process) -> bool:
    return any(DEVSTACK_MODULE in " ".join(ancestor.cmdline()) for ancestor in [process, *process.parents()])


def leftovers(run_dir: Path) -> list[psutil.Process]:
    """The processes of run_dir that no live devstack started."""
    marker = str(run_dir.resolve())
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid == os.getpid() or process.status() == psutil.STATUS_ZOMBIE:
                continue
            if _of_run_dir(process, marker) and not _started_by_a_live_devstack(process):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def stop_leftovers(run_dir: Path, grace_seconds: float = 15.0) -> list[str]:
    """Stop run_dir's leftovers (SIGTERM, then SIGKILL after the grace); what was stopped, for the log."""
    found = leftovers(run_dir)
    stopped = []
    for process in found:
        try:
            stopped.append(f"{process.name()} (pid {process.pid})")
            process.terminate()
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(found, timeout=grace_seconds)
    for process in alive:
        log.warning("%s (pid %s) did not stop in %.0f s: killing it", process.name(), process.pid, grace_seconds)
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=5)
    return stopped
