"""The Helm chart in deploy/k8s/agentmesh, rendered and checked offline.

helm-python-sdk runs Helm's own Go template engine (a C library, no `helm` binary,
no cluster); kubernetes-validate checks every rendered object against the
Kubernetes OpenAPI schemas in strict mode (unknown fields fail).
"""

from __future__ import annotations

import json
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml
from helm_chart import (
    CHART_DIR,
    COMPONENTS,
    CRD_KINDS,
    GRPC_COMPONENTS,
    IDENTITY_VALUES,
    KUBERNETES_VERSION,
    NAMESPACE,
    RELEASE,
    SCENARIOS,
    STRONG_SECRETS,
    container,
    deployment,
    of_kind,
    render,
)


def test_chart_lints_clean_in_strict_mode() -> None:
    report = helm.lint(CHART_DIR, IDENTITY_VALUES, strict=True)  # the keys Helm cannot make (helm_chart.py)
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2 and m["error"] != "icon is recommended"]
    assert problems == []


def test_default_values_satisfy_the_values_schema(chart: helm.Chart) -> None:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(values, schema)
    chart.validate_schema({})


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_manifest_is_valid_kubernetes(chart: helm.Chart, scenario: str) -> None:
    objects = render(chart, SCENARIOS[scenario])
    assert objects
    for obj in objects:
        where = f"{scenario}: {obj['kind']}/{obj['metadata']['name']}"
        try:
            # CRD kinds are checked by hand (test_chart_operations.py).
            if obj["kind"] not in CRD_KINDS:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{where}: {error.message} at {list(error.path)}")
        assert obj["metadata"]["namespace"] == NAMESPACE, where
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == RELEASE, where
        assert labels["app.kubernetes.io/name"] == "agentmesh", where
        assert labels["app.kubernetes.io/managed-by"] == "Helm", where


def test_defaults_render_the_whole_mesh(chart: helm.Chart) -> None:
    objects = render(chart)
    kinds = sorted(obj["kind"] for obj in objects)
    assert kinds.count("Deployment") == 5
    assert kinds.count("Service") == 9
    assert set(of_kind(objects, "Deployment")) == {f"{RELEASE}-{c}" for c in COMPONENTS}
    assert set(of_kind(objects, "Service")) == {f"{RELEASE}-{c}" for c in COMPONENTS} | {
        f"{RELEASE}-{c}-headless" for c in GRPC_COMPONENTS
    }
    assert set(of_kind(objects, "ConfigMap")) == {f"{RELEASE}-config"}
    assert set(of_kind(objects, "Secret")) == {f"{RELEASE}-secrets", f"{RELEASE}-nats"}
    assert set(of_kind(objects, "ServiceAccount")) == {RELEASE}
    assert set(of_kind(objects, "PodDisruptionBudget")) == {f"{RELEASE}-{c}" for c in COMPONENTS}
    assert set(of_kind(objects, "NetworkPolicy")) == {f"{RELEASE}-{c}" for c in (*COMPONENTS, "deny-all", "test")}
    assert set(of_kind(objects, "Pod")) == {f"{RELEASE}-test"}
    assert "Ingress" not in kinds
    assert "HorizontalPodAutoscaler" not in kinds
    assert "ServiceMonitor" not in kinds
    for component in COMPONENTS:
        labels = deployment(objects, component)["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == component
        assert container(objects, component)["command"] == ["python", "-m", f"agentmesh_{component}"]


def test_gateway_has_http_probes(chart: helm.Chart) -> None:
    gateway = container(render(chart), "gateway")
    assert gateway["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # The gateway's own readiness; not /readyz/dependencies, which fails while any dependency is down:
    # every gateway pod would leave its Service at once.
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    probes = {"probes": {"readiness": {"path": "/readyz/self", "periodSeconds": 5}}}
    gateway = container(render(chart, {"gateway": probes}), "gateway")
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz/self", "port": "http"}


@pytest.mark.parametrize("component", GRPC_COMPONENTS)
def test_grpc_services_have_native_grpc_probes(chart: helm.Chart, component: str) -> None:
    objects = render(chart)
    port = GRPC_COMPONENTS[component]
    main = container(objects, component)
    assert main["ports"][0] == {"name": "grpc", "containerPort": port, "protocol": "TCP"}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert main[probe]["grpc"] == {"port": port}, probe
    service_port = of_kind(objects, "Service")[f"{RELEASE}-{component}"]["spec"]["ports"][0]
    assert service_port == {
        "name": "grpc",
        "port": port,
        "targetPort": "grpc",
        "protocol": "TCP",
        "appProtocol": "grpc",
    }


def test_image_tags_come_from_values(chart: helm.Chart) -> None:
    app_version = chart.metadata["appVersion"]
    defaults = render(chart)
    for component in COMPONENTS:
        assert container(defaults, component)["image"] == f"agentmesh/{component}:{app_version}"

    values = {
        "image": {"registry": "registry.example.com/", "tag": "1.2.3", "pullPolicy": "Always"},
        "inference": {"image": {"tag": "1.2.3-cuda"}},
        "memory": {"image": {"repository": "team/agentmesh-memory"}},
    }
    objects = render(chart, values)
    expected = {
        "gateway": "registry.example.com/agentmesh/gateway:1.2.3",
        "agents": "registry.example.com/agentmesh/agents:1.2.3",
        "memory": "registry.example.com/team/agentmesh-memory:1.2.3",
        "inference": "registry.example.com/agentmesh/inference:1.2.3-cuda",
        "scheduler": "registry.example.com/agentmesh/scheduler:1.2.3",
    }
    for component, image in expected.items():
        main = container(objects, component)
        assert main["image"] == image
        assert main["imagePullPolicy"] == "Always"


def test_inference_requests_a_gpu_by_default(chart: helm.Chart) -> None:
    objects = render(chart)
    pod = deployment(objects, "inference")["spec"]["template"]["spec"]
    inference = container(objects, "inference")
    assert inference["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert deployment(objects, "inference")["spec"]["strategy"] == {"type": "Recreate"}
    mounts = {m["mountPath"] for m in inference["volumeMounts"]}
    assert {"/tmp", "/dev/shm", "/var/cache/agentmesh"} <= mounts
    env = {var["name"]: var.get("value") for var in inference["env"]}
    assert env["HF_HOME"].startswith("/var/cache/agentmesh/")
    assert env["AGENTMESH_RUN_DIR"].startswith("/var/cache/agentmesh/")
    for component in ("gateway", "agents", "memory", "scheduler"):
        resources = container(objects, component)["resources"]
        assert "nvidia.com/gpu" not in resources.get("limits", {}), component

    more = render(chart, {"inference": {"gpu": {"count": 2, "resourceName": "nvidia.com/mig-3g.40gb"}}})
    limits = container(more, "inference")["resources"]["limits"]
    assert limits["nvidia.com/mig-3g.40gb"] == 2
    assert "nvidia.com/gpu" not in limits


def test_inference_without_gpu(chart: helm.Chart) -> None:
    objects = render(chart, SCENARIOS["cpu-inference-with-ingress"])
    inference = container(objects, "inference")
    assert not any(name.startswith("nvidia.com/") for name in inference["resources"].get("limits", {}))
    assert not any(name.startswith("nvidia.com/") for name in inference["resources"].get("requests", {}))
    assert "tolerations" not in deployment(objects, "inference")["spec"]["template"]["spec"]


def test_optional_ingress_and_autoscaler_target_the_gateway(chart: helm.Chart) -> None:
    objects = render(chart, SCENARIOS["cpu-inference-with-ingress"])
    ingress = of_kind(objects, "Ingress")[f"{RELEASE}-gateway"]["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["tls"] == [{"hosts": ["agentmesh.example.com"], "secretName": "agentmesh-tls"}]
    (rule,) = ingress["rules"]
    assert rule["host"] == "agentmesh.example.com"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": f"{RELEASE}-gateway", "port": {"number": 8000}}}

    hpa = of_kind(objects, "HorizontalPodAutoscaler")[f"{RELEASE}-gateway"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{RELEASE}-gateway"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert {m["resource"]["name"] for m in hpa["metrics"]} == {"cpu", "memory"}
    assert "replicas" not in deployment(objects, "gateway")["spec"]


def test_gateway_disruption_budget_selects_gateway_pods(chart: helm.Chart) -> None:
    objects = render(chart)
    pdb = of_kind(objects, "PodDisruptionBudget")[f"{RELEASE}-gateway"]["spec"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"] == deployment(objects, "gateway")["spec"]["selector"]["matchLabels"]
    assert deployment(objects, "gateway")["spec"]["replicas"] == 2
    budgets = of_kind(render(chart, {"gateway": {"podDisruptionBudget": {"enabled": False}}}), "PodDisruptionBudget")
    assert f"{RELEASE}-gateway" not in budgets


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pods_run_locked_down(chart: helm.Chart, scenario: str) -> None:
    objects = render(chart, SCENARIOS[scenario])
    for component in COMPONENTS:
        pod = deployment(objects, component)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["enableServiceLinks"] is False
        assert pod["automountServiceAccountToken"] is False
        main = container(objects, component)
        context = main["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert {"name": "tmp", "mountPath": "/tmp"} in main["volumeMounts"]
        tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp
        assert main["resources"]["requests"]["memory"]
        assert main["resources"]["limits"]["memory"]


def test_config_changes_roll_the_pods(chart: helm.Chart) -> None:
    def checksums(values: dict[str, Any]) -> dict[str, str]:
        annotations = deployment(render(chart, values), "agents")["spec"]["template"]["metadata"]["annotations"]
        return {k: v for k, v in annotations.items() if k.startswith("checksum/")}

    base = checksums({"secrets": STRONG_SECRETS})
    assert checksums({"secrets": STRONG_SECRETS}) == base
    moved = checksums({"secrets": STRONG_SECRETS, "nats": {"url": "nats://other:4222"}})
    assert moved["checksum/config"] != base["checksum/config"]
    rotated = {**STRONG_SECRETS, "jwtSecret": "rotated-0123456789abcdefghijklmnopqrstuvwxyz"}
    assert checksums({"secrets": rotated})["checksum/secret"] != base["checksum/secret"]


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"gatway": {"replicaCount": 3}}, "additional properties 'gatway'"),
        ({"inference": {"gpu": {"count": "one"}}}, "/inference/gpu/count"),
        ({"secrets": {"jwtSecret": "too-short"}}, "/secrets/jwtSecret"),
        ({"qdrant": {"url": "qdrant:6333"}}, "/qdrant/url"),
        ({"environment": "staging"}, "/environment"),
    ],
)
def test_schema_rejects_bad_values(chart: helm.Chart, values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=complaint):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


def test_notes_warn_about_the_random_default_model(chart: helm.Chart) -> None:
    notes = chart.render({}, name=RELEASE, namespace=NAMESPACE)["agentmesh/templates/NOTES.txt"]
    assert "gibberish" in notes
    assert f"{RELEASE}-gateway" in notes
    notes = chart.render(
        {"inference": {"model": "Qwen/Qwen2.5-7B-Instruct"}, "database": {"url": "postgresql://u:secret@db/agentmesh"}},
        name=RELEASE,
        namespace=NAMESPACE,
    )["agentmesh/templates/NOTES.txt"]
    assert "gibberish" not in notes
    assert "secret@" not in notes
