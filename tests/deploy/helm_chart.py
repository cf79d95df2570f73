"""The chart under test, its scenarios, and helpers to pick rendered objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

from agentmesh_core.service_keys import new_keyring, public_key_of

CHART_DIR = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "agentmesh"
# The example production values shipped next to values.yaml.
PRODUCTION = yaml.safe_load((CHART_DIR / "values-production.yaml").read_text())
RELEASE = "agentmesh"
NAMESPACE = "ai"
KUBERNETES_VERSION = kubernetes_validate.latest_version()
GRPC_COMPONENTS = {"agents": 50051, "memory": 50052, "inference": 50053, "scheduler": 50054}
COMPONENTS = ("gateway", *GRPC_COMPONENTS)
# Kinds from CustomResourceDefinitions: kubernetes-validate has no schema for them.
CRD_KINDS = {"ServiceMonitor"}
SECRET_SETTINGS = {
    "AGENTMESH_DATABASE_URL",
    "AGENTMESH_IDENTITY_KEY",
    "AGENTMESH_JWT_SECRET",
    "AGENTMESH_ADMIN_PASSWORD",
}
STRONG_SECRETS = {
    "jwtSecret": "jwt-0123456789abcdefghijklmnopqrstuvwxyz-jwt",
    "adminPassword": "admin-password-0123",
}

# The mesh's identity keys (Helm cannot make them): every render gets these unless it gives its own.
IDENTITY_KEYS = new_keyring()
IDENTITY_VALUES: dict[str, Any] = {
    "identity": {"publicKeys": {name: public_key_of(key) for name, key in IDENTITY_KEYS.items()}},
    "secrets": {"identityKeys": dict(IDENTITY_KEYS)},
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
    "production": PRODUCTION,
}


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every object the chart renders with these values (NOTES.txt left out)."""
    manifests = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE)
    objects: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


class KeyedChart:
    """The chart, rendering the values given over IDENTITY_VALUES (the `chart` fixture); `bare` renders as given."""

    def __init__(self, bare: helm.Chart) -> None:
        self.bare = bare

    def render(self, values: dict[str, Any], **options: Any) -> dict[str, str]:
        return self.bare.render(merged(IDENTITY_VALUES, values), **options)

    def __getattr__(self, name: str) -> Any:  # metadata, values, ...: the chart's own
        return getattr(self.bare, name)


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """base with over's values in place of its own, dictionaries merged key by key."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def deployment(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    return of_kind(objects, "Deployment")[f"{RELEASE}-{component}"]


def container(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    (only,) = deployment(objects, component)["spec"]["template"]["spec"]["containers"]
    return only


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every pod the release runs, by component: the Deployments' templates and the helm test Pod."""
    specs = {}
    for obj in objects:
        if obj["kind"] == "Deployment":
            specs[obj["metadata"]["labels"]["app.kubernetes.io/component"]] = obj["spec"]["template"]
        elif obj["kind"] == "Pod":
            specs[obj["metadata"]["labels"]["app.kubernetes.io/component"]] = obj
    return specs


def secret_refs(env: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {
        var["name"]: (var["valueFrom"]["secretKeyRef"]["name"], var["valueFrom"]["secretKeyRef"]["key"])
        for var in env
        if "secretKeyRef" in var.get("valueFrom", {})
    }
