"""Test lanes: which tests are unit tests, and which share a worker under pytest-xdist.

Loaded with the devstack pytest plugin. Two ini options (root pyproject.toml):

  unit_paths          globs (relative to the repo root) of test files that are unit
                      tests; each of their tests gets the `unit` marker, so
                      `pytest -m unit` is the no-infrastructure lane (`make unit`).
  xdist_group_fixtures  fixture names; a test that uses one (directly or through
                      another fixture) joins the xdist group of that name, so with
                      `--dist loadgroup` everything sharing an expensive session or
                      module fixture (a vLLM engine, the embedding model, a whole
                      mesh) runs on one worker and the fixture is built once.
  xdist_group_paths   `glob = group` lines, for tests that reach such a fixture only
                      through request.getfixturevalue() (invisible before they run).

A unit test that asks for infrastructure fails at setup, in every run, with a
message saying which fixture it used: unit tests stay runnable with nothing started.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import pytest
from _pytest.nodeid import NodeId

# The plugin's own infrastructure fixtures; `unit_forbidden_fixtures` adds heavier ones.
INFRA_FIXTURES = frozenset(
    {
        "devstack_dir",
        "postgres_server",
        "database_url",
        "database_from_template",
        "nats_server",
        "nats_url",
        "temporal_address",
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("unit_paths", "globs of test files in the unit lane (marked `unit`)", type="linelist", default=[])
    parser.addini(
        "unit_forbidden_fixtures",
        "fixtures (besides the devstack infrastructure) a unit test must not use",
        type="linelist",
        default=[],
    )
    parser.addini(
        "xdist_group_fixtures",
        "fixtures whose users share one xdist group (run with --dist loadgroup)",
        type="linelist",
        default=[],
    )
    parser.addini("xdist_group_paths", "`glob = group`: test files in an xdist group", type="linelist", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: needs no infrastructure (set from the unit_paths ini option)")
    if getattr(config.option, "loadgroup", False):  # set on pytest-xdist workers under --dist loadgroup
        config.pluginmanager.register(GroupIds(), "agentmesh-xdist-group-ids")


class GroupIds:
    """Puts each grouped item's xdist_group into its id, which is what loadgroup schedules by.

    pytest-xdist 3.8 does it by assigning `item._nodeid`, which pytest 9.2 no longer reads
    (ids live in `item._id`), so every test silently became a group of its own.
    """

    @pytest.hookimpl(trylast=True)  # after xdist's own attempt
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            names = sorted({str(mark.args[0]) for mark in item.iter_markers("xdist_group") if mark.args})
            if names and "@" not in item.nodeid and hasattr(item, "_id"):
                item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")


def _relative(path: Path, config: pytest.Config) -> str:
    try:
        return path.relative_to(config.rootpath).as_posix()
    except ValueError:
        return path.as_posix()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With `-m unit`, test files outside unit_paths are not even imported (half the run's time)."""
    if config.option.markexpr != "unit" or not collection_path.name.startswith("test_"):
        return None
    if collection_path.suffix != ".py":
        return None
    return not any(fnmatch(_relative(collection_path, config), p) for p in config.getini("unit_paths")) or None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unit_paths = config.getini("unit_paths")
    group_fixtures = config.getini("xdist_group_fixtures")
    group_paths = [tuple(part.strip() for part in line.split("=", 1)) for line in config.getini("xdist_group_paths")]
    for item in items:
        path = _relative(item.path, config)
        if any(fnmatch(path, pattern) for pattern in unit_paths):
            item.add_marker(pytest.mark.unit)
        if item.get_closest_marker("xdist_group") is None:
            used = set(getattr(item, "fixturenames", ()))
            group = next((name for name in group_fixtures if name in used), None)
            group = group or next((name for pattern, name in group_paths if fnmatch(path, pattern)), None)
            if group is not None:
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(tryfirst=True)  # before any fixture is set up: nothing gets started
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("unit") is None:
        return
    forbidden = INFRA_FIXTURES | set(item.config.getini("unit_forbidden_fixtures"))
    used = sorted(forbidden & set(getattr(item, "fixturenames", ())))
    if used:
        pytest.fail(
            f"{item.nodeid} is a unit test (unit_paths) but uses {', '.join(used)}: "
            "unit tests run with no infrastructure; move it to an adapters/ or service/ suite",
            pytrace=False,
        )
