"""Stop when the process that started this one dies without stopping it.

The dev stack (`make run`, tests, benches: agentmesh_devstack) starts every service as
its child and stops them in order on its way out. Killed outright (SIGKILL, a timeout's
SIGTERM to a bench), it cannot: its services lived on, each holding its ports, and the
inference service's vLLM engine with it (five such orphans here; their engines had used
8-41% of a core over their lives). So the stack names itself
(AGENTMESH_STOP_WITH_PARENT_PID) and a service it started watches its parent: once the
parent is gone (the service's parent process id changes), the service sends itself
SIGTERM and stops as it does on any SIGTERM, gracefully. Outside the stack (a container,
a unit) nothing is watched.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)

# Where a process started by the dev stack finds its parent's pid (CommonSettings.stop_with_parent_pid).
PARENT_PID_VARIABLE = "AGENTMESH_STOP_WITH_PARENT_PID"


def stop_with_parent(parent_pid: int, interval_seconds: float = 1.0) -> threading.Thread | None:
    """Watch (a daemon thread) for parent_pid to stop being this process's parent, then SIGTERM this process.

    0 watches nothing (None). A parent already gone when this is called is noticed at once.
    """
    if not parent_pid:
        return None

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_seconds)
        log.warning("the process that started this one (pid %s) is gone: stopping", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    watcher = threading.Thread(target=watch, name="parent-watch", daemon=True)
    watcher.start()
    return watcher
