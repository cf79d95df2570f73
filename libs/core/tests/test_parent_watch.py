"""A process started with stop_with_parent stops when its parent is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentmesh_core.parent_watch import stop_with_parent
from agentmesh_devstack.waiting import eventually_sync

# The child: watches its parent (every 50 ms), writes its pid, and on SIGTERM writes "stopped" and exits.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from agentmesh_core.parent_watch import stop_with_parent

    out = Path(sys.argv[1])
    def stopped(*_):
        (out / "stopped").write_text("sigterm")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stopped)
    stop_with_parent(os.getppid(), interval_seconds=0.05)
    (out / "child").write_text(str(os.getpid()))
    time.sleep(60)
    """
)
# The parent: starts the child and waits; the test kills it with SIGKILL (no clean-up runs).
PARENT = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', *sys.argv[1:]]); time.sleep(60)"


def wait_for(path: Path, timeout: float = 20.0) -> str:
    eventually_sync(path.exists, timeout=timeout, interval=0.02, what=f"{path.name} to appear")
    return path.read_text()


def test_a_child_stops_once_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(tmp_path)])
    try:
        wait_for(tmp_path / "child")
        assert not (tmp_path / "stopped").exists()
        time.sleep(0.2)  # several watch intervals with the parent alive: the child keeps running
        assert not (tmp_path / "stopped").exists()
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_for(tmp_path / "stopped", timeout=10) == "sigterm"
    finally:
        parent.kill()
        if (tmp_path / "child").exists():
            try:
                os.kill(int((tmp_path / "child").read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_no_parent_pid_watches_nothing() -> None:
    assert stop_with_parent(0) is None


def test_a_parent_already_gone_is_noticed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    signals: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: signals.append((pid, sig)))
    watcher = stop_with_parent(os.getppid() + 1_000_000, interval_seconds=0.01)  # not our parent
    assert watcher is not None
    watcher.join(5)
    assert signals == [(os.getpid(), signal.SIGTERM)]
