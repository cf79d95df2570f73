"""Operating the release: metrics ports and the optional ServiceMonitor (checked
by hand: kubernetes-validate has no schema for CRDs), images pinned, GPU resources
and node selection for inference, and NOTES.txt."""

from __future__ import annotations

import re
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
    container,
    deployment,
    of_kind,
    pod_specs,
    render,
)

from agentmesh_agents.settings import AgentsSettings
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_inference.settings import InferenceSettings
from agentmesh_memory.settings import MemorySettings
from agentmesh_scheduler.settings import SchedulerSettings

METRICS = 9464
# The ServiceMonitor fields this chart may set (monitoring.coreos.com/v1), so a typo cannot pass unnoticed.
SERVICE_MONITOR_SPEC = {"jobLabel", "namespaceSelector", "selector", "endpoints"}
ENDPOINT_FIELDS = {"port", "path", "interval", "scrapeTimeout"}
DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")


def test_every_service_declares_its_metrics_port(chart: helm.Chart) -> None:
    objects = render(chart)
    config = of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]
    services = of_kind(objects, "Service")
    for component in GRPC_COMPONENTS:
        ports = {p["name"]: p["containerPort"] for p in container(objects, component)["ports"]}
        assert ports["metrics"] == METRICS, component
        service_ports = {p["name"]: p for p in services[f"{RELEASE}-{component}"]["spec"]["ports"]}
        assert service_ports["metrics"]["targetPort"] == "metrics", component
        assert config[f"AGENTMESH_{component.upper()}_METRICS_ADDR"] == f"0.0.0.0:{METRICS}"
    # The gateway serves /metrics on its HTTP port.
    assert [p["name"] for p in services[f"{RELEASE}-gateway"]["spec"]["ports"]] == ["http"]
    # Each service reads the address the chart gives it (the service skeleton serves it).
    for component, settings_class in (("agents", AgentsSettings), ("memory", MemorySettings),
                                      ("inference", InferenceSettings), ("scheduler", SchedulerSettings)):  # fmt: skip
        field = f"{component}_metrics_addr"
        settings = settings_class.model_validate(
            {"database_url": "postgresql://x/y", field: config[f"AGENTMESH_{component.upper()}_METRICS_ADDR"]}
        )
        assert getattr(settings, field) == f"0.0.0.0:{METRICS}", component


def test_every_configmap_setting_is_read_by_a_service(chart: helm.Chart) -> None:
    """A chart knob no service reads would be silently ignored (a typo, a renamed setting)."""
    read = {
        f"AGENTMESH_{name.upper()}"
        for cls in (GatewaySettings, AgentsSettings, MemorySettings, InferenceSettings, SchedulerSettings)
        for name in cls.model_fields
    }
    for scenario in ("defaults", "production"):
        config = of_kind(render(chart, SCENARIOS[scenario]), "ConfigMap")[f"{RELEASE}-config"]["data"]
        assert set(config) - read == set(), scenario


def test_metrics_ports_are_values(chart: helm.Chart) -> None:
    objects = render(
        chart,
        {
            "agents": {"metrics": {"enabled": True, "port": 9100}},
            "inference": {"metrics": {"enabled": False, "port": 1}},
        },
    )
    assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in container(objects, "agents")["ports"]
    assert [p["name"] for p in container(objects, "inference")["ports"]] == ["grpc"]
    config = of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]
    assert config["AGENTMESH_AGENTS_METRICS_ADDR"] == "0.0.0.0:9100"
    assert config["AGENTMESH_INFERENCE_METRICS_ADDR"] == ""  # serves none


def test_service_monitor_is_off_by_default(chart: helm.Chart) -> None:
    assert of_kind(render(chart), "ServiceMonitor") == {}


def test_service_monitor_scrapes_every_metrics_port_once(chart: helm.Chart) -> None:
    objects = render(chart, PRODUCTION)
    (monitor,) = of_kind(objects, "ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == NAMESPACE
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = monitor["spec"]
    assert set(spec) <= SERVICE_MONITOR_SPEC
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    for endpoint in spec["endpoints"]:
        assert set(endpoint) <= ENDPOINT_FIELDS
        assert endpoint["path"] == "/metrics"
        assert DURATION.match(endpoint["interval"]) and DURATION.match(endpoint["scrapeTimeout"])

    def selected(service: dict[str, Any]) -> bool:
        labels = service["metadata"]["labels"]
        if not spec["selector"]["matchLabels"].items() <= labels.items():
            return False
        return all(
            labels.get(e["key"]) in e["values"] for e in spec["selector"]["matchExpressions"] if e["operator"] == "In"
        )

    # Each (Service, port) the monitor turns into a scrape target.
    targets = [
        (name, port["port"])
        for name, service in of_kind(objects, "Service").items()
        if selected(service)
        for port in service["spec"]["ports"]
        if port["name"] in {e["port"] for e in spec["endpoints"]}
    ]
    expected = [(f"{RELEASE}-gateway", 8000)] + [(f"{RELEASE}-{c}", METRICS) for c in GRPC_COMPONENTS]
    assert sorted(targets) == sorted(expected)  # the headless Services add none


def test_service_monitor_leaves_out_disabled_ports(chart: helm.Chart) -> None:
    values = {"serviceMonitor": {"enabled": True}, "inference": {"metrics": {"enabled": False, "port": METRICS}}}
    (monitor,) = of_kind(render(chart, values), "ServiceMonitor").values()
    (expression,) = monitor["spec"]["selector"]["matchExpressions"]
    assert expression["values"] == ["gateway", "agents", "memory", "scheduler"]
    off = {c: {"metrics": {"enabled": False, "port": METRICS}} for c in GRPC_COMPONENTS}
    with pytest.raises(helm.HelmRenderError, match="no component has metrics enabled"):
        chart.render(
            {"serviceMonitor": {"enabled": True}, "gateway": {"metrics": {"enabled": False}}, **off},
            name=RELEASE,
            namespace=NAMESPACE,
        )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_images_are_pinned(chart: helm.Chart, scenario: str) -> None:
    app_version = chart.metadata["appVersion"]
    objects = render(chart, SCENARIOS[scenario])
    specs = pod_specs(objects)
    assert set(specs) == {*COMPONENTS, "test"}
    for spec in specs.values():
        for main in spec["spec"]["containers"]:
            image = main["image"]
            name, _, digest = image.partition("@")
            tag = name.rsplit(":", 1)[1]
            assert tag and tag != "latest", image
            if digest:
                assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), image
            elif scenario == "defaults":
                assert tag == app_version, image
    # The helm test runs in the gateway's image: nothing else to pull or pin.
    assert specs["test"]["spec"]["containers"][0]["image"] == container(objects, "gateway")["image"]


def test_a_digest_pins_the_exact_image(chart: helm.Chart) -> None:
    objects = render(chart, PRODUCTION)
    digest = PRODUCTION["inference"]["image"]["digest"]
    assert container(objects, "inference")["image"] == f"registry.example.com/agentmesh/inference:0.1.0-cuda@{digest}"
    assert container(objects, "agents")["image"] == "registry.example.com/agentmesh/agents:0.1.0"


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"image": {"tag": "latest", "pullPolicy": "Always"}}, "/image/tag"),
        ({"agents": {"image": {"tag": "latest"}}}, "/agents/image/tag"),
        ({"memory": {"image": {"digest": "sha256:abc"}}}, "/memory/image/digest"),
    ],
)
def test_schema_refuses_unpinned_images(chart: helm.Chart, values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=complaint):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


def test_inference_gets_gpus_and_gpu_nodes(chart: helm.Chart) -> None:
    objects = render(chart, PRODUCTION)
    pod = deployment(objects, "inference")["spec"]["template"]["spec"]
    assert container(objects, "inference")["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    for component in ("gateway", "agents", "memory", "scheduler"):
        spec = deployment(objects, component)["spec"]["template"]["spec"]
        assert "nvidia.com/gpu" not in container(objects, component)["resources"].get("limits", {}), component
        assert "nodeSelector" not in spec and "tolerations" not in spec, component
    # The component's own nodeSelector and the GPU one are merged; without GPUs only the component's stays.
    values = {
        "inference": {"nodeSelector": {"pool": "ml"}, "gpu": {"nodeSelector": {"nvidia.com/gpu.present": "true"}}}
    }
    pod = deployment(render(chart, values), "inference")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "ml", "nvidia.com/gpu.present": "true"}
    values["inference"]["gpu"]["enabled"] = False
    pod = deployment(render(chart, values), "inference")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "ml"}


def test_notes_say_how_to_reach_the_gateway_the_temporal_ui_and_run_the_tests(chart: helm.Chart) -> None:
    notes = chart.render({}, name=RELEASE, namespace=NAMESPACE)["agentmesh/templates/NOTES.txt"]
    assert f"kubectl -n {NAMESPACE} port-forward svc/{RELEASE}-gateway 8000:8000" in notes
    assert f"kubectl -n {NAMESPACE} port-forward svc/temporal-web 8080:8080" in notes
    assert f"helm test {RELEASE} -n {NAMESPACE}" in notes
    notes = chart.render(PRODUCTION, name=RELEASE, namespace=NAMESPACE)["agentmesh/templates/NOTES.txt"]
    assert "https://agentmesh.example.com/docs" in notes
    assert "https://temporal.example.com" in notes
    assert "helm test" in notes
    notes = chart.render({"tests": {"enabled": False}}, name=RELEASE, namespace=NAMESPACE)[
        "agentmesh/templates/NOTES.txt"
    ]
    assert "helm test" not in notes
