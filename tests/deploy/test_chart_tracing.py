"""Tracing in the chart: off by default (no OTEL_* anywhere); on, every component gets the
OTLP endpoint and a parent-based sampler from the ConfigMap, which the services' tracing
setup accepts, and a collector egress entry lets the pods reach the collector."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
from helm_chart import COMPONENTS, NAMESPACE, RELEASE, container, of_kind, pod_specs, render
from network_model import Endpoint, allowed

from agentmesh_observability import tracing

COLLECTOR = "http://otel-collector.monitoring:4317"
TRACING: dict[str, Any] = {
    "tracing": {"enabled": True, "otlpEndpoint": COLLECTOR, "samplerRatio": 0.25},
    "networkPolicy": {
        "egress": {
            "otlpCollector": {
                "components": list(COMPONENTS),
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "opentelemetry-collector"}},
                    }
                ],
                "ports": [{"port": 4317, "protocol": "TCP"}],
            }
        }
    },
}


def config(objects: list[dict[str, Any]]) -> dict[str, str]:
    return of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]


def test_tracing_is_off_by_default(chart: helm.Chart) -> None:
    data = config(render(chart))
    assert not [key for key in data if key.startswith("OTEL_")]
    assert not tracing.wanted(data)


def test_tracing_on_configures_every_component(chart: helm.Chart) -> None:
    objects = render(chart, TRACING)
    data = config(objects)
    assert data["OTEL_EXPORTER_OTLP_ENDPOINT"] == COLLECTOR
    assert data["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert data["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert float(data["OTEL_TRACES_SAMPLER_ARG"]) == 0.25
    assert tracing.wanted(data)
    # Every component reads the ConfigMap, so every one exports.
    for component in COMPONENTS:
        sources = [source["configMapRef"]["name"] for source in container(objects, component).get("envFrom", [])]
        assert f"{RELEASE}-config" in sources, component


COLLECTOR_POD = Endpoint(
    "otel-collector", "monitoring", {"app.kubernetes.io/name": "opentelemetry-collector"}, "10.3.0.9"
)


def reaches_collector(objects: list[dict[str, Any]]) -> dict[str, bool]:
    policies = list(of_kind(objects, "NetworkPolicy").values())
    return {
        component: allowed(policies, Endpoint(component, NAMESPACE, spec["metadata"]["labels"]), COLLECTOR_POD, 4317)
        for component, spec in pod_specs(objects).items()
        if component in COMPONENTS
    }


def test_the_collector_egress_entry_reaches_it_from_every_component(chart: helm.Chart) -> None:
    assert reaches_collector(render(chart, TRACING)) == dict.fromkeys(COMPONENTS, True)
    # Without the entry the default-deny egress keeps the spans in (the README says to add it).
    assert not any(reaches_collector(render(chart, {"tracing": TRACING["tracing"]})).values())


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"tracing": {"enabled": True}}, "otlpEndpoint"),
        ({"tracing": {"enabled": True, "otlpEndpoint": "otel-collector:4317"}}, "otlpEndpoint"),
        ({"tracing": {"enabled": False, "samplerRatio": 2}}, "samplerRatio"),
        ({"tracing": {"enabled": False, "protocol": "http/json"}}, "protocol"),
        ({"tracing": {"enabled": False, "exporter": "zipkin"}}, "exporter"),
    ],
)
def test_schema_rejects_bad_tracing_values(chart: helm.Chart, values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=complaint):
        chart.validate_schema(values)
