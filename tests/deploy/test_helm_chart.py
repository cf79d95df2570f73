"""The Helm chart in deploy/k8s/agentmesh, rendered and checked offline.

helm-python-sdk runs Helm's own Go template engine (a C library, no `helm` binary,
no cluster); kubernetes-validate checks every rendered object against the
Kubernetes OpenAPI schemas in strict mode (unknown fields fail).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

CHART_DIR = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "agentmesh"
RELEASE = "agentmesh"
NAMESPACE = "ai"
KUBERNETES_VERSION = kubernetes_validate.latest_version()
GRPC_COMPONENTS = {"agents": 50051, "memory": 50052, "inference": 50053, "scheduler": 50054}
COMPONENTS = ("gateway", *GRPC_COMPONENTS)
SECRET_SETTINGS = {
    "AGENTMESH_DATABASE_URL",
    "AGENTMESH_INTERNAL_SECRET",
    "AGENTMESH_JWT_SECRET",
    "AGENTMESH_ADMIN_PASSWORD",
}
STRONG_SECRETS = {
    "internalSecret": "internal-0123456789abcdefghijklmnopqrstuvwxyz",
    "jwtSecret": "jwt-0123456789abcdefghijklmnopqrstuvwxyz-jwt",
    "adminPassword": "admin-password-0123",
}

# The scenarios every manifest is validated in.
SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "cpu-inference-with-ingress": {
        "inference": {"gpu": {"enabled": False}, "model": "Qwen/Qwen2.5-0.5B-Instruct"},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "annotations": {"nginx.ingress.kubernetes.io/proxy-buffering": "off"},
            "hosts": [{"host": "agentmesh.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": [{"secretName": "agentmesh-tls", "hosts": ["agentmesh.example.com"]}],
        },
        "gateway": {"autoscaling": {"enabled": True, "targetMemoryUtilizationPercentage": 80}},
    },
    "existing-secret-and-pvc": {
        "secrets": {"existingSecret": "agentmesh-prod"},
        "database": {"url": "postgresql://agentmesh:pw@db.example.com:5432/agentmesh?sslmode=require"},
        "inference": {"modelCache": {"existingClaim": "models"}, "runtimeClassName": "nvidia"},
        "serviceAccount": {"create": False, "name": "agentmesh-runner"},
        "imagePullSecrets": [{"name": "registry-credentials"}],
    },
}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every object the chart renders with these values (NOTES.txt left out)."""
    manifests = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE)
    objects: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def deployment(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    return of_kind(objects, "Deployment")[f"{RELEASE}-{component}"]


def container(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    (only,) = deployment(objects, component)["spec"]["template"]["spec"]["containers"]
    return only


def secret_refs(env: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {
        var["name"]: (var["valueFrom"]["secretKeyRef"]["name"], var["valueFrom"]["secretKeyRef"]["key"])
        for var in env
        if "secretKeyRef" in var.get("valueFrom", {})
    }


def test_chart_lints_clean_in_strict_mode() -> None:
    report = helm.lint(CHART_DIR, strict=True)
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
    assert kinds.count("Service") == 5
    assert set(of_kind(objects, "Deployment")) == {f"{RELEASE}-{c}" for c in COMPONENTS}
    assert set(of_kind(objects, "Service")) == {f"{RELEASE}-{c}" for c in COMPONENTS}
    assert set(of_kind(objects, "ConfigMap")) == {f"{RELEASE}-config"}
    assert set(of_kind(objects, "Secret")) == {f"{RELEASE}-secrets"}
    assert set(of_kind(objects, "ServiceAccount")) == {RELEASE}
    assert set(of_kind(objects, "PodDisruptionBudget")) == {f"{RELEASE}-gateway"}
    assert "Ingress" not in kinds
    assert "HorizontalPodAutoscaler" not in kinds
    for component in COMPONENTS:
        labels = deployment(objects, component)["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == component
        assert container(objects, component)["command"] == ["python", "-m", f"agentmesh_{component}"]


def test_gateway_has_http_probes(chart: helm.Chart) -> None:
    gateway = container(render(chart), "gateway")
    assert gateway["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


@pytest.mark.parametrize("component", GRPC_COMPONENTS)
def test_grpc_services_have_native_grpc_probes(chart: helm.Chart, component: str) -> None:
    objects = render(chart)
    port = GRPC_COMPONENTS[component]
    main = container(objects, component)
    assert main["ports"] == [{"name": "grpc", "containerPort": port, "protocol": "TCP"}]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert main[probe]["grpc"] == {"port": port}, probe
    (service_port,) = of_kind(objects, "Service")[f"{RELEASE}-{component}"]["spec"]["ports"]
    assert service_port == {
        "name": "grpc",
        "port": port,
        "targetPort": "grpc",
        "protocol": "TCP",
        "appProtocol": "grpc",
    }


def test_configmap_wires_the_mesh_and_holds_no_secrets(chart: helm.Chart) -> None:
    values = {
        "secrets": STRONG_SECRETS,
        "database": {"password": "db-password-42"},
        "nats": {"url": "nats://nats.messaging:4222"},
        "temporal": {"address": "temporal-frontend.temporal:7233", "namespace": "agentmesh"},
        "qdrant": {"url": "http://qdrant.vectors:6333"},
        "inference": {"model": "meta-llama/Llama-3.1-8B-Instruct"},
    }
    objects = render(chart, values)
    config = of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]

    assert not SECRET_SETTINGS & set(config)
    for secret in [*STRONG_SECRETS.values(), "db-password-42"]:
        assert all(secret not in value for value in config.values())

    assert config["AGENTMESH_ENVIRONMENT"] == "production"
    assert config["AGENTMESH_NATS_URL"] == "nats://nats.messaging:4222"
    assert config["AGENTMESH_TEMPORAL_ADDRESS"] == "temporal-frontend.temporal:7233"
    assert config["AGENTMESH_TEMPORAL_NAMESPACE"] == "agentmesh"
    assert config["AGENTMESH_QDRANT_URL"] == "http://qdrant.vectors:6333"
    assert config["AGENTMESH_MODEL"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert config["AGENTMESH_GATEWAY_HOST"] == "0.0.0.0"
    assert config["AGENTMESH_GATEWAY_PORT"] == "8000"
    services = of_kind(objects, "Service")
    for component, port in GRPC_COMPONENTS.items():
        svc = component.upper()
        assert config[f"AGENTMESH_{svc}_LISTEN_ADDR"] == f"0.0.0.0:{port}"
        assert config[f"AGENTMESH_{svc}_SERVICE_ADDR"] == f"{RELEASE}-{component}:{port}"
        assert services[f"{RELEASE}-{component}"]["spec"]["ports"][0]["port"] == port

    secret = of_kind(objects, "Secret")[f"{RELEASE}-secrets"]
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert data == {
        "database-url": "postgresql://agentmesh:db-password-42@postgresql:5432/agentmesh",
        "internal-secret": STRONG_SECRETS["internalSecret"],
        "jwt-secret": STRONG_SECRETS["jwtSecret"],
        "admin-password": STRONG_SECRETS["adminPassword"],
    }


def test_each_service_gets_only_the_secrets_it_reads(chart: helm.Chart) -> None:
    objects = render(chart)
    name = f"{RELEASE}-secrets"
    expected = {
        "gateway": {
            "AGENTMESH_DATABASE_URL": (name, "database-url"),
            "AGENTMESH_INTERNAL_SECRET": (name, "internal-secret"),
            "AGENTMESH_JWT_SECRET": (name, "jwt-secret"),
            "AGENTMESH_ADMIN_PASSWORD": (name, "admin-password"),
        },
        "inference": {"AGENTMESH_INTERNAL_SECRET": (name, "internal-secret")},
    }
    for component in ("agents", "memory", "scheduler"):
        expected[component] = {
            "AGENTMESH_DATABASE_URL": (name, "database-url"),
            "AGENTMESH_INTERNAL_SECRET": (name, "internal-secret"),
        }
    for component in COMPONENTS:
        main = container(objects, component)
        assert secret_refs(main["env"]) == expected[component], component
        assert main["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-config"}}]
        assert not any(var["name"] in SECRET_SETTINGS and "value" in var for var in main["env"])


def test_generated_secrets_are_strong(chart: helm.Chart) -> None:
    secret = of_kind(render(chart), "Secret")[f"{RELEASE}-secrets"]
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert len(data["internal-secret"]) >= 32
    assert len(data["jwt-secret"]) >= 32
    assert len(data["admin-password"]) >= 12
    assert data["internal-secret"] != data["jwt-secret"]


def test_database_url_parts_are_url_encoded(chart: helm.Chart) -> None:
    values = {"database": {"user": "mesh", "password": "p@ss:w/rd", "host": "db", "params": "sslmode=require"}}
    secret = of_kind(render(chart, values), "Secret")[f"{RELEASE}-secrets"]
    url = base64.b64decode(secret["data"]["database-url"]).decode()
    assert url == "postgresql://mesh:p%40ss%3Aw%2Frd@db:5432/agentmesh?sslmode=require"


def test_existing_secret_is_referenced_not_created(chart: helm.Chart) -> None:
    objects = render(chart, SCENARIOS["existing-secret-and-pvc"])
    assert of_kind(objects, "Secret") == {}
    for component in COMPONENTS:
        refs = secret_refs(container(objects, component)["env"])
        assert {secret_name for secret_name, _ in refs.values()} == {"agentmesh-prod"}, component
    assert of_kind(objects, "ServiceAccount") == {}
    pod = deployment(objects, "inference")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "agentmesh-runner"
    assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert pod["runtimeClassName"] == "nvidia"
    cache = next(v for v in pod["volumes"] if v["name"] == "model-cache")
    assert cache == {"name": "model-cache", "persistentVolumeClaim": {"claimName": "models"}}


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
    assert of_kind(render(chart, {"gateway": {"podDisruptionBudget": {"enabled": False}}}), "PodDisruptionBudget") == {}


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
