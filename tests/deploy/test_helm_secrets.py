"""The chart keeps secrets out of ConfigMaps and gives each service only its own."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import helm_python as helm
import pytest
import yaml
from helm_chart import (
    COMPONENTS,
    GRPC_COMPONENTS,
    IDENTITY_KEYS,
    IDENTITY_VALUES,
    NAMESPACE,
    RELEASE,
    SCENARIOS,
    SECRET_SETTINGS,
    STRONG_SECRETS,
    container,
    deployment,
    merged,
    of_kind,
    render,
    secret_refs,
)

from agentmesh_core.service_keys import SERVICE_NAMES, public_key_of


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
        # The headless Service: the callers' channels balance over every pod (test_chart_scaling.py).
        assert (
            config[f"AGENTMESH_{svc}_SERVICE_ADDR"]
            == f"dns:///{RELEASE}-{component}-headless.ai.svc.cluster.local:{port}"
        )
        assert services[f"{RELEASE}-{component}"]["spec"]["ports"][0]["port"] == port

    secret = of_kind(objects, "Secret")[f"{RELEASE}-secrets"]
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert data == {
        "database-url": "postgresql://agentmesh:db-password-42@postgresql:5432/agentmesh",
        **{f"identity-key-{name}": key for name, key in IDENTITY_KEYS.items()},
        "jwt-secret": STRONG_SECRETS["jwtSecret"],
        "admin-password": STRONG_SECRETS["adminPassword"],
    }
    assert all(key not in value for key in IDENTITY_KEYS.values() for value in config.values())
    public = {name: public_key_of(key) for name, key in IDENTITY_KEYS.items()}
    assert json.loads(config["AGENTMESH_IDENTITY_PUBLIC_KEYS"]) == public


def test_each_service_gets_only_the_secrets_it_reads(chart: helm.Chart) -> None:
    objects = render(chart)
    name = f"{RELEASE}-secrets"
    expected = {
        "gateway": {
            "AGENTMESH_DATABASE_URL": (name, "database-url"),
            "AGENTMESH_JWT_SECRET": (name, "jwt-secret"),
            "AGENTMESH_ADMIN_PASSWORD": (name, "admin-password"),
        },
        "inference": {},
    }
    for component in ("agents", "memory", "scheduler"):
        expected[component] = {"AGENTMESH_DATABASE_URL": (name, "database-url")}
    for component in COMPONENTS:
        # Its own identity key, no other service's: with another's, it could sign as that service.
        expected[component]["AGENTMESH_IDENTITY_KEY"] = (name, f"identity-key-{component}")
        # Its own NATS password (test_chart_nats_auth.py).
        expected[component]["AGENTMESH_NATS_PASSWORD"] = (f"{RELEASE}-nats", f"nats-password-{component}")
        main = container(objects, component)
        assert secret_refs(main["env"]) == expected[component], component
        assert main["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-config"}}]
        assert not any(var["name"] in SECRET_SETTINGS and "value" in var for var in main["env"])


def test_generated_secrets_are_strong(chart: helm.Chart) -> None:
    secret = of_kind(render(chart), "Secret")[f"{RELEASE}-secrets"]
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert len(data["jwt-secret"]) >= 32
    assert len(data["admin-password"]) >= 12


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


@pytest.mark.parametrize("missing", ["identity", "secrets"])
def test_identity_keys_are_required_and_never_made_up(chart: helm.Chart, missing: str) -> None:
    """Helm cannot derive a public key: without the keys the chart says how to make them."""
    values = merged(IDENTITY_VALUES, {missing: {"publicKeys" if missing == "identity" else "identityKeys": {}}})
    values[missing] = {**values[missing], "publicKeys" if missing == "identity" else "identityKeys": {}}
    with pytest.raises(Exception, match=r"python -m agentmesh_core.service_keys"):
        chart.bare.render(values, name=RELEASE, namespace=NAMESPACE)  # type: ignore[attr-defined]


def test_the_key_generator_makes_values_the_chart_takes(chart: helm.Chart) -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "agentmesh_core.service_keys"], check=True, capture_output=True, text=True
    ).stdout
    values = yaml.safe_load(generated)
    objects = render(chart, values)
    config = of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]
    public = json.loads(config["AGENTMESH_IDENTITY_PUBLIC_KEYS"])
    private = values["secrets"]["identityKeys"]
    assert public == {name: public_key_of(key) for name, key in private.items()}
    assert set(public) == set(SERVICE_NAMES)
