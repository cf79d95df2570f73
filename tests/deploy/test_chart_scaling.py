"""Scaling and availability: a PodDisruptionBudget for every Deployment, an
autoscaling/v2 HPA for every stateless service when enabled (inference's off by
default), headless Services and dns:/// targets for gRPC client-side balancing,
and JetStream stream replicas from the values."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
from helm_chart import (
    COMPONENTS,
    GRPC_COMPONENTS,
    NAMESPACE,
    PRODUCTION,
    RELEASE,
    SCENARIOS,
    deployment,
    of_kind,
    render,
)

from agentmesh_agents.settings import AgentsSettings

STATELESS = ("gateway", "agents", "memory", "scheduler")


def labels_selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_deployment_has_a_budget_that_never_blocks_a_drain(chart: helm.Chart, scenario: str) -> None:
    objects = render(chart, SCENARIOS[scenario])
    budgets = of_kind(objects, "PodDisruptionBudget")
    for component in COMPONENTS:
        deploy = deployment(objects, component)
        pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets.values() if labels_selected(b["spec"]["selector"], pod_labels)]
        assert len(covering) == 1, component
        spec = covering[0]["spec"]
        assert spec["selector"]["matchLabels"] == deploy["spec"]["selector"]["matchLabels"], component
        # maxUnavailable >= 1 lets a drain evict even a single replica (minAvailable: 1 on one pod would block it).
        assert spec.get("maxUnavailable", 0) >= 1 or spec["minAvailable"] < deploy["spec"].get("replicas", 2), component


def test_no_autoscaler_by_default(chart: helm.Chart) -> None:
    objects = render(chart)
    assert of_kind(objects, "HorizontalPodAutoscaler") == {}
    for component in COMPONENTS:
        assert deployment(objects, component)["spec"]["replicas"] >= 1, component


def test_production_autoscales_every_stateless_service(chart: helm.Chart) -> None:
    objects = render(chart, PRODUCTION)
    hpas = of_kind(objects, "HorizontalPodAutoscaler")
    assert set(hpas) == {f"{RELEASE}-{c}" for c in STATELESS}
    for component in STATELESS:
        hpa = hpas[f"{RELEASE}-{component}"]
        assert hpa["apiVersion"] == "autoscaling/v2"
        spec = hpa["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"{RELEASE}-{component}",
        }
        values = PRODUCTION[component]["autoscaling"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == (values["minReplicas"], values["maxReplicas"])
        assert 2 <= spec["minReplicas"] <= spec["maxReplicas"], component
        assert spec["metrics"] == [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": values["targetCPUUtilizationPercentage"]},
                },
            }
        ]
        # The HPA owns the replica count: a fixed one would fight it on every upgrade.
        assert "replicas" not in deployment(objects, component)["spec"], component
    assert hpas[f"{RELEASE}-gateway"]["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 300}}
    assert deployment(objects, "inference")["spec"]["replicas"] == 1


def test_inference_scales_on_its_own_metrics_when_asked(chart: helm.Chart) -> None:
    queue = {
        "type": "Pods",
        "pods": {
            "metric": {"name": "vllm_num_requests_waiting"},
            "target": {"type": "AverageValue", "averageValue": "4"},
        },
    }
    objects = render(chart, {"inference": {"autoscaling": {"enabled": True, "maxReplicas": 3, "metrics": [queue]}}})
    spec = of_kind(objects, "HorizontalPodAutoscaler")[f"{RELEASE}-inference"]["spec"]
    assert spec["metrics"] == [queue]  # no CPU target: CPU says nothing about a GPU's load
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 3)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"inference": {"autoscaling": {"enabled": True}}}, "needs targetCPUUtilizationPercentage"),
        ({"agents": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}, "minReplicas is above"),
        ({"memory": {"podDisruptionBudget": {"enabled": True, "minAvailable": 1}}}, "not both"),
    ],
)
def test_contradictory_scaling_values_fail_the_render(
    chart: helm.Chart, values: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=complaint):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


@pytest.mark.parametrize("component", GRPC_COMPONENTS)
def test_grpc_callers_resolve_every_pod_through_a_headless_service(chart: helm.Chart, component: str) -> None:
    objects = render(chart)
    port = GRPC_COMPONENTS[component]
    name = f"{RELEASE}-{component}-headless"
    headless = of_kind(objects, "Service")[name]["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["selector"] == deployment(objects, component)["spec"]["selector"]["matchLabels"]
    # Only gRPC: the metrics port is scraped once, through the ClusterIP Service.
    assert [p["name"] for p in headless["ports"]] == ["grpc"]
    assert headless["ports"][0]["port"] == port
    config = of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]
    assert (
        config[f"AGENTMESH_{component.upper()}_SERVICE_ADDR"] == f"dns:///{name}.{NAMESPACE}.svc.cluster.local:{port}"
    )
    # Still a ClusterIP Service for port-forwarding and clients outside the mesh.
    assert "clusterIP" not in of_kind(objects, "Service")[f"{RELEASE}-{component}"]["spec"]


def test_headless_services_are_optional_and_the_domain_a_value(chart: helm.Chart) -> None:
    objects = render(chart, {"clusterDomain": "corp.internal."})
    config = of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]
    assert (
        config["AGENTMESH_AGENTS_SERVICE_ADDR"]
        == f"dns:///{RELEASE}-agents-headless.{NAMESPACE}.svc.corp.internal:50051"
    )
    objects = render(chart, {"grpcLoadBalancing": {"headless": False}})
    assert not any(name.endswith("-headless") for name in of_kind(objects, "Service"))
    config = of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]
    for component, port in GRPC_COMPONENTS.items():
        assert config[f"AGENTMESH_{component.upper()}_SERVICE_ADDR"] == f"{RELEASE}-{component}:{port}"


def test_long_release_names_keep_names_valid_and_distinct(chart: helm.Chart) -> None:
    objects = render(chart, {"fullnameOverride": "b" * 60})
    for kind in ("Service", "NetworkPolicy", "Deployment"):
        names = [obj["metadata"]["name"] for obj in objects if obj["kind"] == kind]
        assert len(names) == len(set(names)), kind
        assert all(len(name) <= 63 and not name.endswith("-") for name in names), kind
    config = of_kind(objects, "ConfigMap")[f"{'b' * 53}-config"]["data"]
    headless = {name for name in of_kind(objects, "Service") if name.endswith("-headless")}
    assert len(headless) == 4
    for component in GRPC_COMPONENTS:
        host = config[f"AGENTMESH_{component.upper()}_SERVICE_ADDR"].removeprefix("dns:///").split(".")[0]
        assert host in headless


@pytest.mark.parametrize(("values", "replicas"), [({}, 1), (PRODUCTION, 3)])
def test_jetstream_replicas_reach_the_agents_settings(chart: helm.Chart, values: dict[str, Any], replicas: int) -> None:
    config = of_kind(render(chart, values), "ConfigMap")[f"{RELEASE}-config"]["data"]
    assert config["AGENTMESH_JETSTREAM_REPLICAS"] == str(replicas)
    settings = AgentsSettings(
        database_url="postgresql://db/agentmesh", **{"jetstream_replicas": config["AGENTMESH_JETSTREAM_REPLICAS"]}
    )
    assert settings.jetstream_replicas == replicas


@pytest.mark.parametrize("replicas", [0, 6, "three"])
def test_schema_refuses_replicas_jetstream_cannot_keep(chart: helm.Chart, replicas: Any) -> None:
    with pytest.raises(helm.HelmValuesError, match="/nats/jetstream/replicas"):
        chart.render({"nats": {"jetstream": {"replicas": replicas}}}, name=RELEASE, namespace=NAMESPACE)
