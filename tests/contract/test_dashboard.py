"""The Grafana dashboard in deploy/grafana asks only for series the services register,
and shows every service. (Each process's own scrape is checked in tests/e2e/test_observability.py.)"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

# The modules that declare the series: importing one registers its series, as in its service's process.
DECLARING = (
    "agentmesh_agents.adapters.metrics",
    "agentmesh_gateway.middleware",
    "agentmesh_grpc.telemetry",
    "agentmesh_inference.adapters.metrics",
    "agentmesh_memory.adapters.metrics",
    "agentmesh_scheduler.adapters.metrics",
)
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "agentmesh-dashboard.json"
AREAS = ("agentmesh_http_", "agentmesh_grpc_server_", "agentmesh_agents_", "agentmesh_memory_",
         "agentmesh_inference_", "agentmesh_scheduler_")  # fmt: skip


def registered() -> set[str]:
    """Every sample name the services' modules register (`_total`, `_bucket`, ... included)."""
    for module in DECLARING:
        importlib.import_module(module)
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
    return names


def declared_families() -> set[str]:
    """The families the DECLARING modules name in their source (counters without `_total`)."""
    names = set()
    for module in DECLARING:
        source = Path(str(importlib.import_module(module).__file__)).read_text()
        names |= {name.removesuffix("_total") for name in re.findall(r'"(agentmesh_[a-z0-9_]+)"', source)}
    return names


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def series_in(expr: str) -> set[str]:
    """The agentmesh series a PromQL expression reads (label values left out)."""
    unquoted = re.sub(r'"[^"]*"', '""', expr)
    return set(re.findall(r"\b(agentmesh_[a-z0-9_]+)", unquoted))


def test_series_parsing_sees_names_not_label_values() -> None:
    expr = 'sum by (le) (rate(agentmesh_x_bucket{grpc_service="agentmesh.memory.v1.M"}[5m])) / agentmesh_y'
    assert series_in(expr) == {"agentmesh_x_bucket", "agentmesh_y"}


def test_every_series_the_dashboard_asks_for_is_registered() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = set().union(*(series_in(expr) for expr in queries(dashboard)))
    assert used, "the dashboard has no queries"
    assert used - registered() == set()


def test_the_dashboard_shows_every_service() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = set().union(*(series_in(expr) for expr in queries(dashboard)))
    for area in AREAS:
        assert any(name.startswith(area) for name in used), area


def test_every_agentmesh_series_is_on_the_dashboard() -> None:
    """A new series is either shown or said here to be left out on purpose."""
    dashboard = json.loads(DASHBOARD.read_text())
    used = set().union(*(series_in(expr) for expr in queries(dashboard)))
    families = declared_families()
    shown = {f for f in families if any(name == f or name.startswith(f + "_") for name in used)}
    left_out = {
        "agentmesh_inference_time_per_output_token_seconds",  # TTFT and tokens/s tell the story
        "agentmesh_inference_request_seconds",
        "agentmesh_inference_requests",  # tokens by project carry it
        "agentmesh_inference_max_batch_size",
        "agentmesh_scheduler_activity_seconds",
    }
    assert families - shown - left_out == set()
