"""The domain stays free of transport and storage libraries (STYLE.md section 2)."""

from __future__ import annotations

import ast
from pathlib import Path

import agentmesh_agents.domain

FORBIDDEN = ("grpc", "google.protobuf", "agentmesh.", "nats", "sqlalchemy", "temporalio", "agentmesh_grpc",
             "agentmesh_events", "agentmesh_db", "agentmesh_agents.adapters", "agentmesh_agents.rpc")  # fmt: skip


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_imports_no_adapters_or_transports():
    domain_dir = Path(agentmesh_agents.domain.__file__).parent
    offenders = {
        f"{path.name}: {name}"
        for path in domain_dir.glob("*.py")
        for name in _imports(path)
        if name == "grpc" or name.startswith(FORBIDDEN)
    }
    assert offenders == set()
