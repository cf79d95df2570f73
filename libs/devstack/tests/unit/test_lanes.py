"""Lanes: unit_paths marks unit tests, a unit test asking for infrastructure fails before
anything starts, and users of an xdist_group_fixtures fixture share one group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = {
    "pytest.ini": """[pytest]
addopts = -p agentmesh_devstack.pytest_plugin -p no:cacheprovider
asyncio_default_fixture_loop_scope = session
unit_paths = */tests/unit/*
xdist_group_fixtures = heavy
xdist_group_paths = pkg/tests/dynamic/* = heavy
""",
    "conftest.py": """import pytest

@pytest.fixture
def heavy():
    return "built once per worker"
""",
    "pkg/tests/unit/test_pure.py": """def test_pure():
    assert True

def test_wants_nats(nats_url):
    raise AssertionError("must fail at setup, before NATS starts")
""",
    "pkg/tests/service/test_grouped.py": """def test_grouped(heavy, request):
    assert request.node.get_closest_marker("unit") is None
    assert request.node.get_closest_marker("xdist_group").args == ("heavy",)
""",
    "pkg/tests/dynamic/test_by_path.py": """def test_by_path(request):
    assert request.node.get_closest_marker("xdist_group").args == ("heavy",)
""",
}


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args], cwd=root, capture_output=True, text=True, timeout=120
    )


def test_unit_lane_selection_guard_and_groups(tmp_path: Path) -> None:
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    unit = _pytest(tmp_path, "-m", "unit")
    assert "1 passed, 1 error in" in unit.stdout, unit.stdout + unit.stderr  # other files not even collected
    assert "is a unit test (unit_paths) but uses devstack_dir, nats_server, nats_url" in unit.stdout
    assert not list(tmp_path.glob("**/nats")), "the guard ran after the fixture started NATS"

    grouped = _pytest(tmp_path, "pkg/tests/service", "pkg/tests/dynamic", "-n", "2", "--dist", "loadgroup", "-vv")
    assert "2 passed" in grouped.stdout, grouped.stdout + grouped.stderr
    ran = [line.split() for line in grouped.stdout.splitlines() if line.startswith("[gw")]
    workers = {words[0] for words in ran if words[-1].endswith("@heavy")}
    assert len(workers) == 1, grouped.stdout  # both tests of the group ran on one worker
