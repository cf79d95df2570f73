"""Every service refuses a bad setting the same way: one log line naming it, no traceback, status 2.

Each runs as `python -m agentmesh_<svc>`, as the platform starts it. The check
happens before any model or web stack is loaded, so each run takes about a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SECRET_LOOKING_VALUE = "postgresql://user:hunter2-password@db.invalid:5432/agentmesh"

DATABASE = {"AGENTMESH_DATABASE_URL": SECRET_LOOKING_VALUE}

# service, its environment (one bad setting, plus what it needs to get that far), the variable the line must name
CASES = [
    ("agents", {**DATABASE, "AGENTMESH_INBOX_PARTITIONS": "0"}, "AGENTMESH_INBOX_PARTITIONS"),
    ("memory", {**DATABASE, "AGENTMESH_EMBEDDING_BATCH_SIZE": "-1"}, "AGENTMESH_EMBEDDING_BATCH_SIZE"),
    ("scheduler", {}, "AGENTMESH_DATABASE_URL"),
    ("inference", {"AGENTMESH_MAX_NUM_SEQS": "-5"}, "AGENTMESH_MAX_NUM_SEQS"),
    ("gateway", {**DATABASE, "AGENTMESH_GATEWAY_PORT": "70000"}, "AGENTMESH_GATEWAY_PORT"),
]


def _environment(settings: dict[str, str]) -> dict[str, str]:
    # Only this test's AGENTMESH_* settings: none leaks in from the shell or another test.
    clean = {name: value for name, value in os.environ.items() if not name.startswith("AGENTMESH_")}
    return {**clean, **settings}


@pytest.mark.parametrize(("service", "settings", "variable"), CASES, ids=[case[0] for case in CASES])
def test_bad_setting_is_one_line_and_exit_status_2(service: str, settings: dict[str, str], variable: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"agentmesh_{service}"],
        env=_environment(settings),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert result.returncode == 2, output
    assert len(lines) == 1, output
    assert "Traceback" not in output
    entry = json.loads(lines[0])
    assert entry["level"] == "error" and entry["service"] == service
    assert entry["message"].startswith("invalid settings: ")
    assert variable in entry["message"]
    assert "hunter2" not in output  # values are never echoed: a database URL may hold a password
